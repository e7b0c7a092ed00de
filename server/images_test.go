package server

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wire"
)

// unitFeatures makes n L2-normalised random rows of d values, as the
// trainer's clustering hands them over.
func unitFeatures(version uint32, n, d int, seed uint64) *deepercluster.Features {
	rng := rand.New(rand.NewPCG(seed, 2))
	f := &deepercluster.Features{Version: version, N: n, Dim: d, Data: make([]float32, n*d)}
	for i := range n {
		r := f.Row(i)
		s := 0.0
		for j := range r {
			r[j] = float32(rng.NormFloat64())
			s += float64(r[j]) * float64(r[j])
		}
		for j := range r {
			r[j] /= float32(math.Sqrt(s))
		}
	}
	return f
}

func TestImageInfoAndSimilar(t *testing.T) {
	const n = 600
	ds := testDataset(t, n)
	ts := startServer(t, Config{}, ds, nil)
	u := ts.ts.URL
	// Before any clustering: the image's metadata, no clusters; no
	// similar images yet, with the reason.
	status, body, _ := do(t, "GET", u+"/api/images/5", "", nil)
	if status != 200 || body["super"] != nil || body["sub"] != nil {
		t.Fatalf("image before clustering: %d %v", status, body)
	}
	status, body, _ = do(t, "GET", u+"/api/images/5/similar", "", nil)
	if status != http.StatusServiceUnavailable || body["error"] == "" {
		t.Fatalf("similar before features: %d %v", status, body)
	}

	a := assignmentFor(1, n, 3, 4, 9, 0)
	ts.s.OnAssignment(a)
	f := unitFeatures(1, n, 16, 4)
	ts.s.OnFeatures(f)
	waitVersion(t, ts.s, 1)
	deadline := time.Now().Add(20 * time.Second)
	for ts.s.similarIndex() == nil {
		if time.Now().After(deadline) {
			t.Fatal("features never indexed")
		}
		time.Sleep(5 * time.Millisecond)
	}

	// The image view's JSON: metadata as the dataset has it, the clusters
	// of the published version, the label.
	const id = 42
	status, body, _ = do(t, "GET", u+"/api/images/"+strconv.Itoa(id), "", nil)
	if status != 200 {
		t.Fatalf("image: %d %v", status, body)
	}
	m := ds.Meta(id)
	tags, _ := body["tags"].([]any)
	if len(tags) != len(m.Tags) || body["title"] != m.Title || body["photo_id"] != m.PhotoID {
		t.Fatalf("image %d: %v, dataset meta %+v", id, body, m)
	}
	if int32(body["super"].(float64)) != a.Super[id] || int32(body["sub"].(float64)) != a.Sub[id] {
		t.Fatalf("image %d in %v/%v, assignment %d/%d", id, body["super"], body["sub"], a.Super[id], a.Sub[id])
	}
	if l, ok := ds.Label(id); ok != (body["label"] != nil) || ok && int(body["label"].(float64)) != l {
		t.Fatalf("label %v, dataset (%d, %v)", body["label"], l, ok)
	}

	// Similar images: the k nearest by Euclidean distance, computed here
	// in float64 over every image, the image itself left out.
	type nb struct {
		id int
		d  float64
	}
	var all []nb
	for j := range n {
		if j == id {
			continue
		}
		s := 0.0
		for c := range f.Dim {
			v := float64(f.Row(j)[c]) - float64(f.Row(id)[c])
			s += v * v
		}
		all = append(all, nb{j, math.Sqrt(s)})
	}
	slices.SortFunc(all, func(x, y nb) int {
		if x.d < y.d {
			return -1
		}
		if x.d > y.d {
			return 1
		}
		return x.id - y.id
	})
	for _, k := range []int{1, 12, 50} {
		status, body, _ = do(t, "GET", u+"/api/images/"+strconv.Itoa(id)+"/similar?k="+strconv.Itoa(k), "", nil)
		if status != 200 {
			t.Fatalf("similar k=%d: %d %v", k, status, body)
		}
		imgs := body["images"].([]any)
		if len(imgs) != k {
			t.Fatalf("k=%d: %d images", k, len(imgs))
		}
		for i, x := range imgs {
			o := x.(map[string]any)
			got, d := int(o["id"].(float64)), o["distance"].(float64)
			if math.Abs(d-all[i].d) > 1e-4 {
				t.Fatalf("k=%d, neighbour %d: image %d at %v, want image %d at %v", k, i, got, d, all[i].id, all[i].d)
			}
			if int32(o["super"].(float64)) != a.Super[got] || int32(o["sub"].(float64)) != a.Sub[got] {
				t.Fatalf("neighbour %d: clusters %v/%v, assignment %d/%d", got, o["super"], o["sub"], a.Super[got], a.Sub[got])
			}
		}
	}

	cases := []struct {
		name, path string
		status     int
		field      string
	}{
		{"image id not a number", "/api/images/x", 400, "id"},
		{"image id past the end", "/api/images/600", 404, "id"},
		{"image id like a path", "/api/images/..%2f1", 404, "id"},
		{"similar k zero", "/api/images/1/similar?k=0", 400, "k"},
		{"similar k too large", "/api/images/1/similar?k=1001", 400, "k"},
		{"similar k not a number", "/api/images/1/similar?k=many", 400, "k"},
		{"similar id past the end", "/api/images/600/similar", 404, "id"},
		{"thumbs no ids", "/api/thumbs", 400, "ids"},
		{"thumbs id not a number", "/api/thumbs?ids=1,x", 400, "ids"},
		{"thumbs id past the end", "/api/thumbs?ids=1,600", 400, "ids"},
		{"thumbs too many ids", "/api/thumbs?ids=" + repeatIDs(1025), 400, "ids"},
		{"thumbs px zero", "/api/thumbs?ids=1&px=0", 400, "px"},
		{"thumbs px not a number", "/api/thumbs?ids=1&px=big", 400, "px"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body, _ := do(t, "GET", u+c.path, "", nil)
			if status != c.status || body["error"] == "" {
				t.Fatalf("status %d, want %d (%v)", status, c.status, body)
			}
			if f, _ := body["field"].(string); f != c.field {
				t.Fatalf("field %q, want %q (%v)", f, c.field, body)
			}
		})
	}
}

func repeatIDs(n int) string {
	s := "0"
	for i := 1; i < n; i++ {
		s += ",0"
	}
	return s
}

// decodeThumbs reads the batch of GET /api/thumbs.
func decodeThumbs(t *testing.T, raw []byte) (px int, ids []int, pix [][]byte) {
	t.Helper()
	b, err := wire.DecodeThumbBatch(raw)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range b.IDs {
		ids = append(ids, int(id))
		pix = append(pix, b.Thumb(i))
	}
	return b.Px, ids, pix
}

func TestThumbBatch(t *testing.T) {
	const n = 50
	ds := testDataset(t, n) // 16 px
	ts := startServer(t, Config{}, ds, nil)
	res := ds.Resolution()
	src := make([]byte, deepercluster.ImageBytes(res))
	for _, tc := range []struct {
		name   string
		query  string
		wantPx int
		ids    []int
	}{
		{"dataset resolution by default", "ids=3,1,3", res, []int{3, 1, 3}},
		{"clamped to the dataset", "ids=7&px=400", res, []int{7}},
		{"halved", "ids=0,49&px=8", 8, []int{0, 49}},
		{"not a divisor", "ids=5&px=5", 5, []int{5}},
		{"clamped to the least", "ids=5&px=1", minThumbPx, []int{5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, raw := send(t, "GET", ts.ts.URL+"/api/thumbs?"+tc.query, "", nil)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ThumbsContentType {
				t.Fatalf("%d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
			}
			px, ids, pix := decodeThumbs(t, raw)
			if px != tc.wantPx || !slices.Equal(ids, tc.ids) {
				t.Fatalf("px %d ids %v, want %d %v", px, ids, tc.wantPx, tc.ids)
			}
			for i, id := range ids {
				if err := ds.Image(id, src); err != nil {
					t.Fatal(err)
				}
				// Each thumbnail pixel is the mean of the source pixels
				// its box covers; the box of pixel (x, y) spans
				// [x*res/px, (x+1)*res/px).
				for y := range px {
					for x := range px {
						for ch := range 3 {
							sum, cnt := 0, 0
							for sy := y * res / px; sy < max((y+1)*res/px, y*res/px+1); sy++ {
								for sx := x * res / px; sx < max((x+1)*res/px, x*res/px+1); sx++ {
									sum += int(src[(sy*res+sx)*3+ch])
									cnt++
								}
							}
							want := float64(sum) / float64(cnt)
							if got := float64(pix[i][(y*px+x)*3+ch]); math.Abs(got-want) > 0.5 {
								t.Fatalf("image %d pixel (%d,%d,%d) = %v, want %.1f", id, x, y, ch, got, want)
							}
						}
					}
				}
			}
		})
	}
}

// waitSimilar polls until similar images answer 200 (or fails after a while).
func waitSimilar(t *testing.T, u string, id int) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, body, _ := do(t, "GET", u+"/api/images/"+strconv.Itoa(id)+"/similar?k=5", "", nil)
		if status == 200 {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("similar images never answered: %d %v", status, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFeaturesSurviveRestart(t *testing.T) {
	const n = 300
	dir := t.TempDir()
	ds := testDataset(t, n)
	v1 := assignmentFor(1, n, 2, 3, 4, 0)
	ts := startServer(t, Config{DataDir: dir}, ds, nil)
	ts.s.OnAssignment(v1)
	ts.s.OnFeatures(unitFeatures(1, n, 8, 6))
	first := waitSimilar(t, ts.ts.URL, 17)
	// The file is written in the background: wait for it, then stop.
	path := filepath.Join(dir, FeaturesFile)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the features were never saved")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ts.ts.Close()
	ts.stop()
	<-ts.done

	// A restart on the same version: the same answers without new features.
	ts2 := startServer(t, Config{DataDir: dir}, ds, nil)
	ts2.s.OnAssignment(v1)
	again := waitSimilar(t, ts2.ts.URL, 17)
	a, _ := json.Marshal(first["images"])
	b, _ := json.Marshal(again["images"])
	if string(a) != string(b) {
		t.Fatalf("after a restart %s, before %s", b, a)
	}
	ts2.ts.Close()
	ts2.stop()
	<-ts2.done

	// Features of another version than the one the run resumes with are
	// not the latest clustering's: 503 until new ones come.
	for _, tc := range []struct {
		name    string
		spoil   func()
		version uint32
	}{
		{"another version", func() {}, 2},
		{"corrupt file", func() {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			raw[100] ^= 0xff
			if err := os.WriteFile(path, raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spoil()
			ts := startServer(t, Config{DataDir: dir}, ds, nil)
			a := assignmentFor(tc.version, n, 2, 3, 4, 0)
			ts.s.OnAssignment(a)
			waitVersion(t, ts.s, tc.version)
			ts.ts.Close()
			ts.stop()
			<-ts.done // the features' loader has finished
			// Neither indexed nor waiting to be.
			ts.s.mu.Lock()
			pend := ts.s.pendF
			ts.s.mu.Unlock()
			if idx := ts.s.similarIndex(); idx != nil || pend != nil {
				t.Fatalf("saved features were taken for version %d (indexed %v, waiting %v)", tc.version, idx != nil, pend != nil)
			}
		})
	}
}

package server

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wire"
)

// versionsRun is a TrainingRun that holds some versions of an assignment, as the
// trainer's run directory does, and answers the rest with fs.ErrNotExist.
type versionsRun struct {
	mu       sync.Mutex
	info     deepercluster.RunInfo
	versions map[uint32]*deepercluster.Assignment
}

func (r *versionsRun) Info() deepercluster.RunInfo                    { return r.info }
func (r *versionsRun) Assignment() *deepercluster.Assignment          { return nil }
func (r *versionsRun) History() deepercluster.History                 { return deepercluster.History{} }
func (r *versionsRun) RequestRecluster(deepercluster.RunParams) error { return nil }
func (r *versionsRun) LoadAssignment(v uint32) (*deepercluster.Assignment, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.versions[v]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("load assignment v%d: %w", v, fs.ErrNotExist)
}

// testLayout puts image i at (i, -2i).
func testLayout(version uint32, n int) *deepercluster.Layout {
	l := &deepercluster.Layout{Version: version, X: make([]float32, n), Y: make([]float32, n)}
	for i := range n {
		l.X[i], l.Y[i] = float32(i), float32(-2*i)
	}
	return l
}

// layoutClient reads frames until it holds a layout meeting cond, applying
// Layout and LayoutDelta frames as the browser does, starting from l (nil:
// none yet).
func layoutClient(t *testing.T, c *client, l *deepercluster.Layout, what string, cond func(l *deepercluster.Layout) bool) *deepercluster.Layout {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for l == nil || !cond(l) {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		f, err := wire.DecodeFrame(msg)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		c.kind[f.Kind]++
		switch f.Kind {
		case wire.KindLayout:
			l = f.Layout
		case wire.KindLayoutDelta:
			if l == nil {
				t.Fatal("layout delta before any layout")
			}
			if err := f.LayoutDelta.Apply(l); err != nil {
				t.Fatalf("apply layout delta: %v", err)
			}
		case wire.KindSnapshot:
			c.a = f.Assignment
		}
	}
	return l
}

// near says whether a layout's points are within the wire's quantisation
// of want's.
func near(l, want *deepercluster.Layout) bool {
	if len(l.X) != len(want.X) {
		return false
	}
	minX, minY, maxX, maxY := want.Bounds()
	tx, ty := float64(maxX-minX)/wire.LayoutQuant, float64(maxY-minY)/wire.LayoutQuant
	for i := range l.X {
		if math.Abs(float64(l.X[i]-want.X[i])) > tx || math.Abs(float64(l.Y[i]-want.Y[i])) > ty {
			return false
		}
	}
	return true
}

func TestPublishLayoutReachesClientsAndLateJoiners(t *testing.T) {
	const n = 300
	ts := startServer(t, Config{}, testDataset(t, n), nil)
	u := ts.ts.URL
	if status, body, _ := do(t, "GET", u+"/api/layout", "", nil); status != http.StatusServiceUnavailable || body["error"] == "" {
		t.Fatalf("layout before any: %d %v, want 503 with a reason", status, body)
	}
	if err := ts.s.PublishLayout(testLayout(1, n-1)); err == nil {
		t.Fatal("a layout of the wrong size was published")
	}
	ts.s.OnAssignment(assignmentFor(1, n, 2, 3, 1, 0))
	waitVersion(t, ts.s, 1)
	early := newClient(t, dial(t, ts.wsURL(""), nil))
	early.readUntil("snapshot", func() bool { return early.version() == 1 })

	want := testLayout(1, n)
	if err := ts.s.PublishLayout(want); err != nil {
		t.Fatal(err)
	}
	got := layoutClient(t, early, nil, "first layout", func(l *deepercluster.Layout) bool { return true })
	if got.Version != 1 || got.Final || !near(got, want) {
		t.Fatalf("early client's layout v%d final %v does not match", got.Version, got.Final)
	}

	// A refinement: a delta moves three points and makes it final.
	d := &deepercluster.LayoutDelta{Version: 1, Final: true, N: n, Index: []uint32{3, 10, 299},
		X: []float32{50, 60, 70}, Y: []float32{-5, -6, -7}}
	if err := ts.s.publishLayoutDelta(d, nil); err != nil {
		t.Fatal(err)
	}
	final := testLayout(1, n)
	final.Final = true
	for j, ix := range d.Index {
		final.X[ix], final.Y[ix] = d.X[j], d.Y[j]
	}
	got = layoutClient(t, early, got, "refined layout", func(l *deepercluster.Layout) bool { return l.Final })
	if !near(got, final) || early.kind[wire.KindLayoutDelta] != 1 {
		t.Fatalf("refined layout does not match (frames %v)", early.kind)
	}

	// A client that connects now gets the snapshot, then the refined layout.
	late := newClient(t, dial(t, ts.wsURL(""), nil))
	got = layoutClient(t, late, nil, "late layout", func(l *deepercluster.Layout) bool { return true })
	if late.a == nil || !got.Final || !near(got, final) {
		t.Fatalf("late client: snapshot %v, layout final %v or positions wrong", late.a != nil, got.Final)
	}

	// GET /api/layout answers the same frame.
	resp, raw := send(t, "GET", u+"/api/layout", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /api/layout: %d %s", resp.StatusCode, raw)
	}
	f, err := wire.DecodeFrame(raw)
	if err != nil || f.Kind != wire.KindLayout || !near(f.Layout, final) || !f.Layout.Final {
		t.Fatalf("GET /api/layout: %v, kind %v", err, f.Kind)
	}
}

func TestFlow(t *testing.T) {
	const n = 400
	v1 := assignmentFor(1, n, 2, 3, 1, 0)
	v2 := assignmentFor(2, n, 2, 3, 1, 1)
	v3 := assignmentFor(3, n, 3, 2, 7, 0)
	run := &versionsRun{info: deepercluster.RunInfo{ID: "r", Images: n},
		versions: map[uint32]*deepercluster.Assignment{1: v1, 2: v2, 3: v3}}
	ts := startServer(t, Config{}, testDataset(t, n), nil)
	u := ts.ts.URL
	if status, body, _ := do(t, "GET", u+"/api/flow", "", nil); status != http.StatusServiceUnavailable || body["error"] == "" {
		t.Fatalf("flow before any clustering: %d %v", status, body)
	}
	ts.s.SetRun(run)
	ts.s.OnAssignment(v3)
	waitVersion(t, ts.s, 3)
	delete(run.versions, 3) // the latest comes from memory

	ok := []struct {
		name, query string
		from, to    *deepercluster.Assignment
	}{
		{"defaults: the last two", "", v2, v3},
		{"to only", "?to=2", v1, v2},
		{"both", "?from=1&to=3", v1, v3},
		{"backwards", "?from=3&to=1", v3, v1},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			resp, raw := send(t, "GET", u+"/api/flow"+c.query, "", nil)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, raw)
			}
			var f deepercluster.Flow
			if err := json.Unmarshal(raw, &f); err != nil {
				t.Fatal(err)
			}
			if f.From != c.from.Version || f.To != c.to.Version || f.Images != n {
				t.Fatalf("flow %d->%d of %d images, want %d->%d of %d", f.From, f.To, f.Images, c.from.Version, c.to.Version, n)
			}
			if len(f.FromParent) != len(c.from.SubParent) || len(f.ToParent) != len(c.to.SubParent) {
				t.Fatalf("parents %d/%d, want %d/%d", len(f.FromParent), len(f.ToParent), len(c.from.SubParent), len(c.to.SubParent))
			}
			// Every cell counts the images of the pair; they sum to n.
			want := map[[2]int32]int{}
			for i := range n {
				want[[2]int32{c.from.Sub[i], c.to.Sub[i]}]++
			}
			sum := 0
			for _, l := range f.Links {
				if l.Count != want[[2]int32{l.From, l.To}] {
					t.Fatalf("link %+v, want count %d", l, want[[2]int32{l.From, l.To}])
				}
				sum += l.Count
			}
			if sum != n || len(f.Links) != len(want) {
				t.Fatalf("links sum to %d in %d cells, want %d in %d", sum, len(f.Links), n, len(want))
			}
		})
	}

	bad := []struct {
		name, query string
		status      int
		field       string
	}{
		{"from not a number", "?from=x", 400, "from"},
		{"to negative", "?to=-1", 400, "to"},
		{"to too large for a version", "?to=99999999999", 400, "to"},
		{"to in the future", "?to=4", 404, "to"},
		{"from not in the run directory", "?from=0&to=1", 404, "from"},
		{"no version before 0", "?to=0", 400, "from"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			status, body, _ := do(t, "GET", u+"/api/flow"+c.query, "", nil)
			msg, _ := body["error"].(string)
			if status != c.status || body["field"] != c.field || msg == "" {
				t.Fatalf("%d %v, want %d naming %q", status, body, c.status, c.field)
			}
		})
	}
}

// TestFlowImages: a band's images are exactly those in both of its
// clusters, at either level, and bad parameters name their field.
func TestFlowImages(t *testing.T) {
	const n = 400
	v1 := assignmentFor(1, n, 2, 3, 1, 0)
	v2 := assignmentFor(2, n, 3, 2, 7, 0)
	run := &versionsRun{info: deepercluster.RunInfo{ID: "r", Images: n},
		versions: map[uint32]*deepercluster.Assignment{1: v1}}
	ts := startServer(t, Config{}, testDataset(t, n), nil)
	u := ts.ts.URL
	ts.s.SetRun(run)
	ts.s.OnAssignment(v2)
	waitVersion(t, ts.s, 2)

	type answer struct {
		Count int     `json:"count"`
		IDs   []int32 `json:"ids"`
	}
	get := func(t *testing.T, query string) answer {
		t.Helper()
		resp, raw := send(t, "GET", u+"/api/flow/images"+query, "", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", query, resp.StatusCode, raw)
		}
		var a answer
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, level := range []string{"sub", "super"} {
		la, lb, na, nb := v1.Sub, v2.Sub, len(v1.SubParent), len(v2.SubParent)
		if level == "super" {
			la, lb, na, nb = v1.Super, v2.Super, v1.M, v2.M
		}
		total := 0
		for a := range na {
			for b := range nb {
				got := get(t, fmt.Sprintf("?from=1&to=2&level=%s&a=%d&b=%d&limit=%d", level, a, b, n))
				var want []int32
				for i := range n {
					if la[i] == int32(a) && lb[i] == int32(b) {
						want = append(want, int32(i))
					}
				}
				if got.Count != len(want) || !slices.Equal(got.IDs, want) && len(want) > 0 {
					t.Fatalf("%s band %d->%d: %d ids %v, want %d", level, a, b, got.Count, got.IDs, len(want))
				}
				total += got.Count
			}
		}
		if total != n {
			t.Fatalf("%s bands hold %d images, want %d", level, total, n)
		}
	}
	if got := get(t, "?a=0&b=0&limit=2"); len(got.IDs) > 2 || got.Count < len(got.IDs) {
		t.Fatalf("limit 2 (defaults from=1, to=2): %d ids of %d", len(got.IDs), got.Count)
	}
	bad := []struct {
		name, query, field string
		status             int
	}{
		{"no a", "?b=0", "a", 400},
		{"a outside", "?a=99&b=0", "a", 400},
		{"b negative", "?a=0&b=-1", "b", 400},
		{"bad level", "?a=0&b=0&level=x", "level", 400},
		{"bad limit", "?a=0&b=0&limit=0", "limit", 400},
		{"version not held", "?from=0&a=0&b=0", "from", 404},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			status, body, _ := do(t, "GET", u+"/api/flow/images"+c.query, "", nil)
			if status != c.status || body["field"] != c.field {
				t.Fatalf("%d %v, want %d naming %q", status, body, c.status, c.field)
			}
		})
	}
}

func TestExportSelection(t *testing.T) {
	const n = 500
	ds := testDataset(t, n)
	ts := startServer(t, Config{MaxBody: 1024}, ds, nil)
	a := assignmentFor(1, n, 2, 3, 1, 0)
	ts.s.OnAssignment(a)
	waitVersion(t, ts.s, 1)
	u := ts.ts.URL

	// rows reads an export answer: ids in order, and x,y where present.
	type row struct {
		id         int
		super, sub int32
		x, y       *float64
	}
	rows := func(t *testing.T, format string, raw []byte) []row {
		t.Helper()
		var out []row
		if format == "csv" {
			recs, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			head := recs[0]
			for _, r := range recs[1:] {
				var w row
				w.id, _ = strconv.Atoi(r[0])
				s, _ := strconv.Atoi(r[1])
				z, _ := strconv.Atoi(r[2])
				w.super, w.sub = int32(s), int32(z)
				if len(head) == 9 && head[7] == "x" && head[8] == "y" {
					x, _ := strconv.ParseFloat(r[7], 64)
					y, _ := strconv.ParseFloat(r[8], 64)
					w.x, w.y = &x, &y
				}
				out = append(out, w)
			}
			return out
		}
		for line := range strings.Lines(string(raw)) {
			var r struct {
				ID         int
				Super, Sub int32
				X, Y       *float64
			}
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatal(err)
			}
			out = append(out, row{r.ID, r.Super, r.Sub, r.X, r.Y})
		}
		return out
	}
	// A lasso of every image but the last, as a POST body over MaxBody.
	var big strings.Builder
	big.WriteString(`{"ids":[`)
	for i := n - 2; i >= 0; i-- {
		fmt.Fprintf(&big, "%d", i)
		if i > 0 {
			big.WriteString(", ")
		}
	}
	big.WriteString("]}")
	if big.Len() <= 1024 {
		t.Fatalf("the lasso body is %d bytes, not over MaxBody", big.Len())
	}
	every := make([]int, n-1)
	for i := range every {
		every[i] = i
	}

	cases := []struct {
		name, method, query, body string
		want                      []int
	}{
		{"GET ids", "GET", "?ids=7,3,499", "", []int{3, 7, 499}},
		{"GET repeats once", "GET", "?ids=5,5,1", "", []int{1, 5}},
		{"POST ids", "POST", "", `{"ids":[42, 0]}`, []int{0, 42}},
		{"POST a lasso over the small-body limit", "POST", "", big.String(), every},
	}
	for _, withLayout := range []bool{false, true} {
		if withLayout {
			if err := ts.s.PublishLayout(testLayout(1, n)); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range cases {
			for _, format := range []string{"csv", "jsonl"} {
				t.Run(fmt.Sprintf("%s %s layout=%v", c.name, format, withLayout), func(t *testing.T) {
					sep := "?"
					if c.query != "" {
						sep = "&"
					}
					resp, raw := send(t, c.method, u+"/api/export"+c.query+sep+"format="+format, c.body, nil)
					if resp.StatusCode != 200 {
						t.Fatalf("%d %s", resp.StatusCode, raw)
					}
					got := rows(t, format, raw)
					if len(got) != len(c.want) {
						t.Fatalf("%d rows, want %d", len(got), len(c.want))
					}
					for j, r := range got {
						id := c.want[j]
						if r.id != id || r.super != a.Super[id] || r.sub != a.Sub[id] {
							t.Fatalf("row %d: %+v, want image %d in %d/%d", j, r, id, a.Super[id], a.Sub[id])
						}
						if withLayout != (r.x != nil) {
							t.Fatalf("row %d: position present %v, layout published %v", j, r.x != nil, withLayout)
						}
						if withLayout && (*r.x != float64(id) || *r.y != float64(-2*id)) {
							t.Fatalf("row %d: at (%v,%v), want (%d,%d)", j, *r.x, *r.y, id, -2*id)
						}
					}
				})
			}
		}
	}

	bad := []struct {
		name, method, query, body string
		status                    int
		naming                    string
	}{
		{"id not a number", "GET", "?ids=1,x,3", "", 400, `"x"`},
		{"id past the end", "GET", "?ids=1,500", "", 400, `"500"`},
		{"negative id", "GET", "?ids=-4", "", 400, `"-4"`},
		{"empty ids", "GET", "?ids=", "", 400, "empty"},
		{"POST bad JSON", "POST", "", `{"ids":[1,`, 400, "ids"},
		{"POST no ids", "POST", "", `{}`, 400, "ids"},
		{"POST fraction", "POST", "", `{"ids":[1.5]}`, 400, `"1.5"`},
		{"POST id past the end", "POST", "", `{"ids":[1, 9999]}`, 400, `"9999"`},
		{"POST over the export limit", "POST", "", `{"ids":[` + strings.Repeat("1,", 9<<20) + `1]}`, 413, ""},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			status, body, _ := do(t, c.method, u+"/api/export"+c.query, c.body, nil)
			msg, _ := body["error"].(string)
			if status != c.status || !strings.Contains(msg, c.naming) {
				t.Fatalf("%d %v, want %d naming %s", status, body, c.status, c.naming)
			}
			if c.status == 400 && body["field"] != "ids" {
				t.Fatalf("field %v, want ids", body["field"])
			}
		})
	}
}

func TestLayoutComputedAfterFeatures(t *testing.T) {
	const n, d = 600, 8
	ts := startServer(t, Config{LayoutEpochs: 80, ProgressEvery: time.Millisecond}, testDataset(t, n), nil)
	ts.s.OnAssignment(assignmentFor(1, n, 2, 3, 1, 0))
	waitVersion(t, ts.s, 1)
	c := newClient(t, dial(t, ts.wsURL(""), nil))
	c.readUntil("snapshot", func() bool { return c.version() == 1 })

	var stages []string
	var first, final *deepercluster.Layout
	var l *deepercluster.Layout
	ts.s.OnFeatures(unitFeatures(1, n, d, 3))
	c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for final == nil {
		_, msg, err := c.conn.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for the final layout: %v (frames %v)", err, c.kind)
		}
		f, err := wire.DecodeFrame(msg)
		if err != nil {
			t.Fatal(err)
		}
		c.kind[f.Kind]++
		switch f.Kind {
		case wire.KindLayoutProgress:
			if f.Version != 1 || f.LayoutProgress.Done < 0 || f.LayoutProgress.Done > 1 {
				t.Fatalf("progress %+v of version %d", f.LayoutProgress, f.Version)
			}
			if len(stages) == 0 || stages[len(stages)-1] != f.LayoutProgress.Stage {
				stages = append(stages, f.LayoutProgress.Stage)
			}
		case wire.KindLayout:
			l = f.Layout
			if first == nil {
				first = l
			}
			if l.Final {
				final = l
			}
		case wire.KindLayoutDelta:
			if l == nil {
				t.Fatal("layout delta before the first layout")
			}
			if err := f.LayoutDelta.Apply(l); err != nil {
				t.Fatal(err)
			}
		}
	}
	if strings.Join(stages, ",") != "knn,layout" {
		t.Fatalf("progress stages %v, want knn then layout", stages)
	}
	if first.Final || first.Version != 1 || len(first.X) != n {
		t.Fatalf("first layout: final %v, version %d, %d points", first.Final, first.Version, len(first.X))
	}
	if c.kind[wire.KindLayoutDelta] == 0 {
		t.Fatalf("no refinement between the first and the final layout (frames %v)", c.kind)
	}
	if len(final.X) != n || final.Version != 1 {
		t.Fatalf("final layout: version %d, %d points", final.Version, len(final.X))
	}
	// The points are spread out, not collapsed or exploded.
	minX, minY, maxX, maxY := final.Bounds()
	if maxX-minX < 1 || maxY-minY < 1 || maxX-minX > 1e4 || maxY-minY > 1e4 {
		t.Fatalf("final layout box [%v,%v]x[%v,%v]", minX, maxX, minY, maxY)
	}
	if got := ts.s.currentLayout(); got == nil || !got.Final || got.Version != 1 {
		t.Fatalf("the server's layout: %+v", got)
	}

	// A newer version's features replace a layout under way: the last
	// layout is the newer one's, final.
	ts.s.OnAssignment(assignmentFor(2, n, 2, 3, 2, 0))
	waitVersion(t, ts.s, 2)
	ts.s.OnFeatures(unitFeatures(2, n, d, 4))
	ts.s.OnAssignment(assignmentFor(3, n, 2, 3, 3, 0))
	waitVersion(t, ts.s, 3)
	ts.s.OnFeatures(unitFeatures(3, n, d, 5))
	deadline := time.Now().Add(30 * time.Second)
	for {
		if got := ts.s.currentLayout(); got != nil && got.Version == 3 && got.Final {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no final layout of version 3: %+v", ts.s.currentLayout())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLayoutDeltaListsMovedPoints(t *testing.T) {
	prev := testLayout(1, 5)
	next := testLayout(1, 5)
	next.X[1] += 0.5
	next.Y[4] -= 3
	next.X[2] += 1e-6 // under a quantisation step
	d := layoutDelta(prev, next)
	if fmt.Sprint(d.Index) != "[1 4]" || d.N != 5 || d.X[0] != next.X[1] || d.Y[1] != next.Y[4] {
		t.Fatalf("delta %+v", d)
	}
}

// logLines is a slog destination that tests read while the server writes.
type logLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLayoutNotCancelledByNewerFeatures: features of newer versions that
// arrive while a layout runs wait for it instead of cancelling it; the
// first map runs at normal priority, the ones after it in the background
// (par.LowerPriority), and the newest version's is the last.
func TestLayoutNotCancelledByNewerFeatures(t *testing.T) {
	const n, d = 600, 8
	var logs logLines
	s, err := New(Config{LayoutEpochs: 2000, ProgressEvery: time.Millisecond}, testDataset(t, n), nil,
		slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	s.OnAssignment(assignmentFor(1, n, 2, 3, 1, 0))
	waitVersion(t, s, 1)
	s.OnFeatures(unitFeatures(1, n, d, 3))
	// The first layout is under way once its first pass is published.
	waitLayout(t, s, func(l *deepercluster.Layout) bool { return l.Version == 1 })
	for v := uint32(2); v <= 3; v++ {
		s.OnAssignment(assignmentFor(v, n, 2, 3, uint64(v), 0))
		waitVersion(t, s, v)
		s.OnFeatures(unitFeatures(v, n, d, uint64(v)+3))
	}
	waitLayout(t, s, func(l *deepercluster.Layout) bool { return l.Version == 3 && l.Final })
	out := logs.String()
	if strings.Contains(out, "layout cancelled") {
		t.Fatalf("a layout was cancelled:\n%s", out)
	}
	for _, want := range []string{
		`msg="layout ready" version=1 images=600 background=false`,
		`msg="layout ready" version=3 images=600 background=true`,
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("no %q in the log:\n%s", want, out)
		}
	}
}

// waitLayout waits for the server's published layout to satisfy ok. The
// bound only stops a hung test: on a 2-core machine busy with three other
// jobs, two 2000-epoch layouts took over 60 s.
func waitLayout(t *testing.T, s *Server, ok func(*deepercluster.Layout) bool) {
	t.Helper()
	const bound = 5 * time.Minute
	deadline := time.Now().Add(bound)
	for {
		if l := s.currentLayout(); l != nil && ok(l) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("layout %+v after %v", s.currentLayout(), bound)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

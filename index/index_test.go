package index

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/blevesearch/bleve/v2"

	"github.com/deepercluster/deepercluster"
)

// answers runs a fixed set of queries and returns results without samples
// (which image represents a cluster depends on segment order).
func answers(t *testing.T, ix *Index) []*deepercluster.SearchResult {
	t.Helper()
	qs := []deepercluster.Query{{Prefix: "n"}, {Tags: []string{"new york", "sunset"}, Op: deepercluster.OpOr}, {Text: "walk"}, {Tags: []string{"東京", "café"}}}
	for _, tag := range vocab {
		qs = append(qs, deepercluster.Query{Tags: []string{tag}})
	}
	var out []*deepercluster.SearchResult
	for _, q := range qs {
		q.Limit = MaxLimit
		res, err := ix.Search(context.Background(), q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		for _, hs := range [][]deepercluster.ClusterHit{res.Supers, res.Subs} {
			for i := range hs {
				hs[i].Samples = nil
			}
		}
		out = append(out, res)
	}
	return out
}

func topTagsAll(t *testing.T, ix *Index, a *deepercluster.Assignment) [][]deepercluster.TagCount {
	t.Helper()
	var out [][]deepercluster.TagCount
	for s := range a.M {
		tt, err := ix.TopTags(int32(s), -1, 5)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tt)
	}
	for c, p := range a.SubParent {
		tt, err := ix.TopTags(p, int32(c), 5)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tt)
	}
	return out
}

func TestUpdateEqualsRebuild(t *testing.T) {
	f := randomSet(11, 500)
	v1 := labelAssignment(f, 1, 0.2, 1)
	v2 := move(v1, 0.1, 2)
	// v3 also drops the last sub-cluster: its document must go.
	v3 := move(v2, 0.05, 3)
	for i, s := range v3.Sub {
		if s == 9 {
			v3.Sub[i] = 8
		}
	}
	v3.SubParent = v3.SubParent[:9]

	inc, _ := built(t, f, v1)
	for _, next := range []*deepercluster.Assignment{v2, v3} {
		st, err := inc.Update(context.Background(), next)
		if err != nil {
			t.Fatal(err)
		}
		changed := 0
		for i := range next.Sub {
			if next.Sub[i] != v1.Sub[i] || next.Super[i] != v1.Super[i] {
				changed++
			}
		}
		if st.Rebuilt || st.To != next.Version || st.Changed == 0 || st.Changed > len(next.Sub)/5 {
			t.Fatalf("update stats %+v", st)
		}
		v1 = next
		full, _ := built(t, f, next)
		if got, want := answers(t, inc), answers(t, full); !reflect.DeepEqual(got, want) {
			for i := range got {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("version %d query %d: incremental %+v\nfull %+v", next.Version, i, got[i], want[i])
				}
			}
		}
		if got, want := topTagsAll(t, inc, next), topTagsAll(t, full, next); !reflect.DeepEqual(got, want) {
			t.Fatalf("top tags differ:\n%v\n%v", got, want)
		}
		if !reflect.DeepEqual(inc.Summaries(3), full.Summaries(3)) {
			t.Fatal("summaries differ")
		}
		if inc.Version() != next.Version {
			t.Fatalf("version %d, want %d", inc.Version(), next.Version)
		}
	}
	if _, err := inc.TopTags(4, 9, 3); !errors.Is(err, ErrUnknownCluster) {
		t.Fatalf("dropped sub-cluster: %v", err)
	}
}

func TestUpdateFallsBackToBuild(t *testing.T) {
	f := randomSet(12, 200)
	v1 := labelAssignment(f, 1, 0.2, 1)
	ix, dir := built(t, f, v1)
	st, err := ix.Update(context.Background(), move(v1, 0.8, 5))
	if err != nil {
		t.Fatal(err)
	}
	if !st.Rebuilt {
		t.Fatalf("80%% moved but no rebuild: %+v", st)
	}
	gens, _ := filepath.Glob(filepath.Join(dir, "gen-*"))
	if len(gens) != 1 || filepath.Base(gens[0]) != "gen-000002" {
		t.Fatalf("generations after rebuild: %v", gens)
	}
}

func TestSearchDuringUpdate(t *testing.T) {
	f := randomSet(13, 1500) // 20% moved: several update batches at BatchSize 37
	v1 := labelAssignment(f, 1, 0.2, 1)
	v2 := move(v1, 0.2, 2)
	ix, _ := built(t, f, v1)
	full, _ := built(t, f, v2)
	want := map[uint32]*deepercluster.SearchResult{}
	q := deepercluster.Query{Tags: []string{"sunset"}, Limit: MaxLimit, Samples: -0}
	strip := func(r *deepercluster.SearchResult) *deepercluster.SearchResult {
		for _, hs := range [][]deepercluster.ClusterHit{r.Supers, r.Subs} {
			for i := range hs {
				hs[i].Samples = nil
			}
		}
		return r
	}
	r1, err := ix.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := full.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	want[1], want[2] = strip(r1), strip(r2)

	var stop atomic.Bool
	var wg sync.WaitGroup
	var searches atomic.Int64
	errc := make(chan error, 4)
	for range 2 {
		wg.Go(func() {
			for !stop.Load() {
				r, err := ix.Search(context.Background(), q)
				if err != nil {
					errc <- err
					return
				}
				if !reflect.DeepEqual(strip(r), want[r.Version]) {
					errc <- errors.New("a search during the update mixed versions")
					return
				}
				searches.Add(1)
			}
		})
	}
	for k := 0; k < 3; k++ { // back and forth
		next := v2
		if k%2 == 1 {
			next = &deepercluster.Assignment{Version: 1, M: v1.M, Super: v1.Super, Sub: v1.Sub, SubParent: v1.SubParent}
		}
		if _, err := ix.Update(context.Background(), next); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if searches.Load() == 0 {
		t.Fatal("no search ran")
	}
}

// A failed Update leaves searches on the version before it, and the next
// Update rebuilds.
func TestFailedUpdateKeepsOldVersion(t *testing.T) {
	f := randomSet(17, 600)
	v1 := labelAssignment(f, 1, 0.2, 1)
	v2 := move(v1, 0.2, 2)
	ix, _ := built(t, f, v1)
	want1 := answers(t, ix)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ix.Update(ctx, v2); !errors.Is(err, context.Canceled) {
		t.Fatalf("update with a cancelled context: %v", err)
	}
	if v := ix.Version(); v != 1 {
		t.Fatalf("version %d after the failed update, want 1", v)
	}
	if got := answers(t, ix); !reflect.DeepEqual(got, want1) {
		t.Fatal("searches after a failed update differ from the version before it")
	}
	st, err := ix.Update(context.Background(), v2)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Rebuilt {
		t.Fatalf("update after a failed one did not rebuild: %+v", st)
	}
	full, _ := built(t, f, v2)
	if got, want := answers(t, ix), answers(t, full); !reflect.DeepEqual(got, want) {
		t.Fatal("index after the rebuild differs from a full build")
	}
}

func TestReopen(t *testing.T) {
	f := randomSet(14, 150)
	v1 := labelAssignment(f, 3, 0.2, 1)
	ix, dir := built(t, f, v1)
	want := answers(t, ix)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Search(context.Background(), deepercluster.Query{Tags: []string{"dog"}}); !errors.Is(err, ErrClosed) {
		t.Fatalf("search after close: %v", err)
	}
	re, err := Open(dir, f, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	if re.Recovered() != nil || re.Version() != 3 {
		t.Fatalf("reopen: recovered %v, version %d", re.Recovered(), re.Version())
	}
	if got := answers(t, re); !reflect.DeepEqual(got, want) {
		t.Fatal("answers differ after reopening")
	}
	st, err := re.Update(context.Background(), move(v1, 0.1, 3))
	if err != nil || st.Rebuilt || st.From != 3 || st.To != 4 {
		t.Fatalf("update after reopen: %+v %v", st, err)
	}
}

// setInternal overwrites one internal key of a closed index's first
// generation.
func setInternal(t *testing.T, dir string, key, val []byte) {
	t.Helper()
	bi, err := bleve.Open(filepath.Join(dir, "gen-000001"))
	if err != nil {
		t.Fatal(err)
	}
	b := bi.NewBatch()
	b.SetInternal(key, val)
	if err := applyPersisted(context.Background(), bi, b); err != nil {
		t.Fatal(err)
	}
	bi.Close()
}

func TestOpenRecovers(t *testing.T) {
	f := randomSet(15, 120)
	a := labelAssignment(f, 1, 0.2, 1)
	cases := []struct {
		name   string
		spoil  func(t *testing.T, dir string)
		want   error
		dsOver *fixture
	}{
		{"older mapping", func(t *testing.T, dir string) {
			setInternal(t, dir, keyMapping, []byte("0"))
		}, ErrOldMapping, nil},
		{"garbage index meta", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "gen-000001", "index_meta.json"), []byte("{not json"), 0o644)
		}, ErrCorrupt, nil},
		{"garbage segments", func(t *testing.T, dir string) {
			files, _ := filepath.Glob(filepath.Join(dir, "gen-000001", "store", "*"))
			if len(files) == 0 {
				t.Fatal("no store files")
			}
			for _, p := range files {
				os.WriteFile(p, []byte("garbage garbage garbage"), 0o644)
			}
		}, ErrCorrupt, nil},
		{"missing generation", func(t *testing.T, dir string) {
			os.RemoveAll(filepath.Join(dir, "gen-000001"))
		}, ErrCorrupt, nil},
		{"bad CURRENT", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, currentFile), []byte("../../etc"), 0o644)
		}, ErrCorrupt, nil},
		{"stored assignment spoilt", func(t *testing.T, dir string) {
			setInternal(t, dir, keyAssignment, []byte("DCA1 but not really an assignment"))
		}, ErrCorrupt, nil},
		{"interrupted update", func(t *testing.T, dir string) {
			setInternal(t, dir, keyPending, []byte("2"))
		}, ErrCorrupt, nil},
		{"other dataset", func(t *testing.T, dir string) {}, ErrOtherDataset, randomSet(16, 121)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ix, dir := built(t, f, a)
			if err := ix.Close(); err != nil {
				t.Fatal(err)
			}
			c.spoil(t, dir)
			ds := f
			b := a
			if c.dsOver != nil {
				ds = c.dsOver
				b = labelAssignment(ds, 1, 0.2, 1)
			}
			re, err := Open(dir, ds, testOptions())
			if err != nil {
				t.Fatal(err)
			}
			defer re.Close()
			if !errors.Is(re.Recovered(), c.want) {
				t.Fatalf("recovered %v, want %v", re.Recovered(), c.want)
			}
			if re.Version() != 0 {
				t.Fatalf("version %d after recovery", re.Version())
			}
			if _, err := re.Search(context.Background(), deepercluster.Query{Tags: []string{"dog"}}); !errors.Is(err, deepercluster.ErrNotReady) {
				t.Fatalf("search before rebuild: %v", err)
			}
			if err := re.Build(context.Background(), b, nil); err != nil {
				t.Fatal(err)
			}
			res, err := re.Search(context.Background(), deepercluster.Query{Tags: []string{"dog"}})
			if err != nil || res.Matches != matching(ds, func(m deepercluster.Meta) bool { return hasTag(m, "dog") }) {
				t.Fatalf("after rebuild: %+v %v", res, err)
			}
		})
	}
}

func TestOpenRefusesForeignDir(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "thesis.tex"), []byte("precious"), 0o644)
	if _, err := Open(dir, tagged([]string{"a"}), testOptions()); !errors.Is(err, ErrNotIndexDir) {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "thesis.tex")); err != nil {
		t.Fatal("foreign file removed")
	}
}

func TestBuildRejectsBadAssignment(t *testing.T) {
	f := tagged([]string{"a"}, []string{"b"})
	ix, err := Open(t.TempDir(), f, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	for _, a := range []*deepercluster.Assignment{
		nil,
		assignment(1, 1, []int32{0}, []int32{0}), // too few images
		{Version: 1, M: 1, Super: []int32{0, 0}, Sub: []int32{0, 1}, SubParent: []int32{0}}, // sub out of range
	} {
		if err := ix.Build(context.Background(), a, nil); !errors.Is(err, ErrAssignment) {
			t.Fatalf("Build(%v): %v", a, err)
		}
		if _, err := ix.Update(context.Background(), a); !errors.Is(err, ErrAssignment) {
			t.Fatalf("Update(%v): %v", a, err)
		}
	}
}

func TestBuildCancelAndProgress(t *testing.T) {
	f := randomSet(17, 300)
	a := labelAssignment(f, 1, 0.2, 1)
	dir := t.TempDir()
	ix, err := Open(dir, f, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ctx, cancel := context.WithCancel(context.Background())
	err = ix.Build(ctx, a, func(done, total int) {
		if done >= 74 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled build: %v", err)
	}
	if ix.Version() != 0 {
		t.Fatal("a cancelled build is live")
	}
	if gens, _ := filepath.Glob(filepath.Join(dir, "gen-*")); len(gens) != 0 {
		t.Fatalf("cancelled build left %v", gens)
	}
	last := 0
	err = ix.Build(context.Background(), a, func(done, total int) {
		if done <= last || total != 300 {
			t.Errorf("progress %d/%d after %d", done, total, last)
		}
		last = done
	})
	if err != nil || last != 300 {
		t.Fatalf("build: %v, progress ended at %d", err, last)
	}
}

func TestQualityHandComputed(t *testing.T) {
	// sub 0 (super 0): {a, x}, {a}; sub 1 (super 0): {b, x}, {};
	// sub 2 (super 1): {b}, {c, x}. Frequencies a 2, b 2, c 1, x 3, so the
	// most specific tags are a, a, b, -, b, c.
	f := tagged([]string{"a", "X"}, []string{"A"}, []string{"b", "x"}, nil, []string{"b"}, []string{"c", "x"})
	f.labels = []int{0, 0, 1, 1, 2, 2}
	a := assignment(7, 2, []int32{0, 0, 1}, []int32{0, 0, 1, 1, 2, 2})
	ix, _ := built(t, f, a)
	q, err := ix.Quality(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %.12f, want %.12f", name, got, want)
		}
	}
	if q.Version != 7 || q.Images != 6 || q.Tagged != 5 || q.Untagged != 1 {
		t.Fatalf("counts %+v", q)
	}
	// Tagged images: sub 0 0 1 2 2, super 0 0 0 1 1, tag a a b b c.
	hTag := -(2*0.4*math.Log(0.4) + 0.2*math.Log(0.2))
	miSub := 0.4*math.Log(2.5) + 0.2*math.Log(2.5) + 0.2*math.Log(1.25) + 0.2*math.Log(2.5)
	near("tag NMI sub", q.TagNMISub, miSub/hTag) // H(sub) = H(tag) here
	hSup := -(0.6*math.Log(0.6) + 0.4*math.Log(0.4))
	miSup := 0.4*math.Log(0.4/(0.6*0.4)) + 0.2*math.Log(0.2/(0.6*0.4)) + 0.2*math.Log(0.2/(0.4*0.4)) + 0.2*math.Log(0.2/(0.4*0.2))
	near("tag NMI super", q.TagNMISuper, miSup/((hSup+hTag)/2))
	near("tag purity sub", q.TagPuritySub, 4.0/5)
	near("tag purity super", q.TagPuritySuper, 3.0/5)
	if q.Labels == nil {
		t.Fatal("no label quality")
	}
	near("label NMI sub", q.Labels.NMISub, 1)
	near("label ARI sub", q.Labels.ARISub, 1)
	near("label purity sub", q.Labels.PuritySub, 1)
	near("label purity super", q.Labels.PuritySuper, 4.0/6)
	near("label ARI super", q.Labels.ARISuper, (3-7.0*3/15)/((7.0+3)/2-7.0*3/15))

	// Sub 0: a on 2 of 2, x on 1; mean sub size 2.
	s0 := q.Subs[0]
	if len(s0.TopTags) != 2 || s0.TopTags[0] != (deepercluster.TagShare{Tag: "a", Count: 2, Share: 1}) || s0.TopTags[1] != (deepercluster.TagShare{Tag: "x", Count: 1, Share: 0.5}) {
		t.Fatalf("sub 0 top tags %+v", s0.TopTags)
	}
	near("c-TF-IDF a in sub 0", s0.Keywords[0].Weight, 2*math.Log(1+2.0/2))
	near("c-TF-IDF x in sub 0", s0.Keywords[1].Weight, 1*math.Log(1+2.0/3))
	s2 := q.Subs[2]
	if s2.Keywords[0].Tag != "c" || s2.Keywords[1].Tag != "b" || s2.Keywords[2].Tag != "x" {
		t.Fatalf("sub 2 keywords %+v", s2.Keywords)
	}
	near("c-TF-IDF c in sub 2", s2.Keywords[0].Weight, math.Log(1+2.0/1))
	// Super level: mean size 3; in super 0 a and x are on 2 images, b on 1.
	if kw := q.Supers[0].Keywords; kw[0].Tag != "a" || kw[1].Tag != "x" || kw[2].Tag != "b" {
		t.Fatalf("super 0 keywords %+v", kw)
	}
	near("c-TF-IDF a in super 0", q.Supers[0].Keywords[0].Weight, 2*math.Log(1+3.0/2))
	near("c-TF-IDF x in super 0", q.Supers[0].Keywords[1].Weight, 2*math.Log(1+3.0/3))
	near("c-TF-IDF b in super 0", q.Supers[0].Keywords[2].Weight, 1*math.Log(1+3.0/2))

	sums := ix.Summaries(1)
	if len(sums) != 3 || sums[0].Size != 2 || sums[0].TopTags[0] != (deepercluster.TagCount{Tag: "a", Count: 2}) || sums[0].TopShare != 1 || sums[1].Super != 0 || sums[2].TopShare != 0.5 {
		t.Fatalf("summaries %+v", sums)
	}
	// Summaries name each cluster by its best c-TF-IDF keywords, as Quality.
	if sums3 := ix.Summaries(3); !slices.Equal(sums3[2].Keywords, []string{"c", "b", "x"}) || !slices.Equal(sums3[0].Keywords, []string{"a", "x"}) {
		t.Fatalf("summary keywords %v and %v, want [c b x] and [a x]", sums3[2].Keywords, sums3[0].Keywords)
	}
	top, err := ix.TopTags(0, -1, 2)
	if err != nil || !reflect.DeepEqual(top, []deepercluster.TagCount{{Tag: "a", Count: 2}, {Tag: "x", Count: 2}}) {
		t.Fatalf("super 0 top tags %v %v", top, err)
	}
	res, err := ix.Search(context.Background(), deepercluster.Query{Tags: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	h := res.Subs[0]
	if h.ID != 0 || h.Count != 2 || h.Share != 1 || h.Lift != 3 {
		t.Fatalf("search a: %+v", h)
	}
	near("score", h.Score, 2*math.Log(3))
}

func TestQualityWithoutLabels(t *testing.T) {
	f := tagged([]string{"a"}, nil)
	ix, _ := built(t, f, assignment(1, 1, []int32{0}, []int32{0, 0}))
	q, err := ix.Quality(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if q.Labels != nil || q.Tagged != 1 || q.Untagged != 1 || q.TagNMISub != 1 {
		t.Fatalf("%+v", q)
	}
}

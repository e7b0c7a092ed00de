package wire

import (
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster"
)

// randomAssignment makes a valid assignment of n images with m super-clusters
// and k sub-clusters in each.
func randomAssignment(rng *rand.Rand, version uint32, n, m, k int) *deepercluster.Assignment {
	a := &deepercluster.Assignment{Version: version, M: m, Super: make([]int32, n), Sub: make([]int32, n)}
	for j := 0; j < m*k; j++ {
		a.SubParent = append(a.SubParent, int32(j/k))
	}
	for i := range n {
		z := int32(rng.IntN(m * k))
		a.Sub[i], a.Super[i] = z, a.SubParent[z]
	}
	return a
}

func testInfo() deepercluster.RunInfo {
	return deepercluster.RunInfo{
		ID: "run-2026-11-26", Dataset: "synthetic", Images: 1000, Resolution: 32, Labels: true,
		Params:   deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: 4, K: 8, ReclusterEvery: 3, PCADim: 64},
		Progress: deepercluster.Progress{Phase: deepercluster.PhaseTraining, Epoch: 2, Epochs: 10, Step: 7, Steps: 100, Done: 0.07, LossSuper: 1.5, LossSub: 2.25, PrecSuper: 0.5, PrecSub: 0.25, ImagesPerSec: 210},
		Version:  3,
		Started:  time.Date(2026, 11, 26, 10, 30, 0, 123456789, time.UTC),
	}
}

func testSums() []deepercluster.ClusterSummary {
	return []deepercluster.ClusterSummary{
		{Sub: 0, Super: 0, Size: 12, TopTags: []deepercluster.TagCount{{Tag: "beach", Count: 7}, {Tag: "new york", Count: 3}}, TopShare: 7.0 / 12, Keywords: []string{"new york", "beach"}},
		{Sub: 1, Super: 0, Size: 0},
		{Sub: 5, Super: 1, Size: 99, TopTags: []deepercluster.TagCount{{Tag: "", Count: 0}, {Tag: "ünïcode", Count: 1}}, TopShare: math.Inf(1), Keywords: []string{"ünïcode"}},
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name    string
		n, m, k int
	}{
		{"empty", 0, 1, 1},
		{"one image", 1, 1, 1},
		{"byte ids", 1000, 4, 8},
		{"uint16 sub ids", 5000, 16, 300},
		{"uint16 super ids", 3000, 700, 1},
		{"uint32 ids", 20000, 300, 300},
		{"width boundary 256", 2000, 256, 1},
		{"width boundary 257", 2000, 257, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := randomAssignment(rng, 7, c.n, c.m, c.k)
			info := testInfo()
			b := AppendSnapshot([]byte("prefix"), info, a, testSums())
			f, err := DecodeFrame(b[len("prefix"):])
			if err != nil {
				t.Fatal(err)
			}
			if f.Kind != KindSnapshot || f.Version != 7 || f.Run != RunHash(info.ID) {
				t.Fatalf("header: kind %v version %d run %x", f.Kind, f.Version, f.Run)
			}
			if !reflect.DeepEqual(f.Assignment.Super, a.Super) && len(a.Super) > 0 {
				t.Fatal("super ids differ")
			}
			if !reflect.DeepEqual(f.Assignment.Sub, a.Sub) && len(a.Sub) > 0 {
				t.Fatal("sub ids differ")
			}
			if f.Assignment.M != a.M || !reflect.DeepEqual(f.Assignment.SubParent, a.SubParent) || f.Assignment.Version != a.Version {
				t.Fatalf("hierarchy differs: m %d vs %d", f.Assignment.M, a.M)
			}
			if !reflect.DeepEqual(*f.Info, info) {
				t.Fatalf("info: got %+v want %+v", *f.Info, info)
			}
			if !reflect.DeepEqual(f.Summaries, testSums()) {
				t.Fatalf("summaries: got %+v", f.Summaries)
			}
		})
	}
}

func TestSmallFramesRoundTrip(t *testing.T) {
	info := testInfo()
	info.Started = time.Time{}
	prog := testInfo().Progress
	met := deepercluster.Metrics{Version: 4, Epoch: 9, StabilityNMI: 0.8, LabelNMI: math.NaN(), LabelARI: -0.01, LabelPurity: 1}
	cases := []struct {
		name  string
		b     []byte
		check func(t *testing.T, f Frame)
	}{
		{"progress", AppendProgress(nil, 42, 3, prog), func(t *testing.T, f Frame) {
			if f.Kind != KindProgress || f.Run != 42 || f.Version != 3 || *f.Progress != prog {
				t.Fatalf("got %+v", f)
			}
		}},
		{"metrics", AppendMetrics(nil, 42, met), func(t *testing.T, f Frame) {
			g := *f.Metrics
			if f.Kind != KindMetrics || f.Version != 4 || g.Epoch != 9 || g.StabilityNMI != 0.8 || !math.IsNaN(g.LabelNMI) || g.LabelARI != -0.01 || g.LabelPurity != 1 {
				t.Fatalf("got %+v", g)
			}
		}},
		{"runinfo zero time", AppendRunInfo(nil, info), func(t *testing.T, f Frame) {
			if f.Kind != KindRunInfo || !reflect.DeepEqual(*f.Info, info) {
				t.Fatalf("got %+v", *f.Info)
			}
		}},
		{"summaries", AppendSummaries(nil, 1, 2, testSums()), func(t *testing.T, f Frame) {
			if f.Kind != KindSummaries || f.Version != 2 || !reflect.DeepEqual(f.Summaries, testSums()) {
				t.Fatalf("got %+v", f)
			}
		}},
		{"no summaries", AppendSummaries(nil, 1, 2, nil), func(t *testing.T, f Frame) {
			if f.Kind != KindSummaries || len(f.Summaries) != 0 {
				t.Fatalf("got %+v", f)
			}
		}},
		{"ping", AppendPing(nil, math.MaxUint64), func(t *testing.T, f Frame) {
			if f.Kind != KindPing || f.Nonce != math.MaxUint64 {
				t.Fatalf("got %+v", f)
			}
		}},
		{"pong", AppendPong(nil, 5, 6, 77), func(t *testing.T, f Frame) {
			if f.Kind != KindPong || f.Nonce != 77 || f.Run != 5 || f.Version != 6 {
				t.Fatalf("got %+v", f)
			}
		}},
		{"request snapshot", AppendRequestSnapshot(nil, 12), func(t *testing.T, f Frame) {
			if f.Kind != KindRequestSnapshot || f.Version != 12 {
				t.Fatalf("got %+v", f)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := DecodeFrame(c.b)
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, f)
		})
	}
}

func TestDeltaRoundTripAndApply(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cases := []struct {
		name          string
		n, m, k       int
		m2, k2        int
		changeShare   float64
		wantUnchanged bool
	}{
		{"same hierarchy 10%", 5000, 4, 8, 4, 8, 0.1, false},
		{"nothing changed", 1000, 4, 8, 4, 8, 0, true},
		{"everything changed", 1000, 4, 8, 4, 8, 1, false},
		{"new hierarchy", 3000, 4, 8, 20, 30, 0.3, false},
		{"empty", 0, 1, 1, 1, 1, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			old := randomAssignment(rng, 1, c.n, c.m, c.k)
			next := randomAssignment(rng, 2, c.n, c.m2, c.k2)
			if c.m == c.m2 && c.k == c.k2 {
				// Keep most images in place, as a real reclustering does.
				copy(next.Super, old.Super)
				copy(next.Sub, old.Sub)
				for i := range next.Super {
					if rng.Float64() < c.changeShare {
						z := int32(rng.IntN(c.m2 * c.k2))
						next.Sub[i], next.Super[i] = z, next.SubParent[z]
					}
				}
			}
			d, err := deepercluster.DiffAssignments(old, next)
			if err != nil {
				t.Fatal(err)
			}
			if c.wantUnchanged != (len(d.Index) == 0) {
				t.Fatalf("%d changed images", len(d.Index))
			}
			d.Summaries = testSums()
			b := AppendDelta(nil, 9, &d)
			f, err := DecodeFrame(b)
			if err != nil {
				t.Fatal(err)
			}
			if f.Kind != KindDelta || f.Version != 2 || f.Run != 9 {
				t.Fatalf("header %+v", f)
			}
			g := f.Delta
			if g.From != 1 || g.To != 2 || g.N != c.n || g.M != c.m2 || len(g.Index) != len(d.Index) {
				t.Fatalf("delta %d->%d n %d m %d changes %d", g.From, g.To, g.N, g.M, len(g.Index))
			}
			if !reflect.DeepEqual(g.Summaries, testSums()) {
				t.Fatal("summaries differ")
			}
			cur := &deepercluster.Assignment{Version: old.Version, M: old.M, Super: append([]int32(nil), old.Super...), Sub: append([]int32(nil), old.Sub...), SubParent: old.SubParent}
			if err := g.Apply(cur); err != nil {
				t.Fatal(err)
			}
			if cur.Version != 2 || cur.M != next.M || !reflect.DeepEqual(cur.SubParent, next.SubParent) {
				t.Fatal("hierarchy not applied")
			}
			for i := range cur.Super {
				if cur.Super[i] != next.Super[i] || cur.Sub[i] != next.Sub[i] {
					t.Fatalf("image %d: got %d/%d want %d/%d", i, cur.Super[i], cur.Sub[i], next.Super[i], next.Sub[i])
				}
			}
			if err := cur.Validate(); err != nil {
				t.Fatal(err)
			}
			// A second application is refused: the versions no longer match.
			if err := g.Apply(cur); err == nil {
				t.Fatal("delta applied twice")
			}
		})
	}
}

func TestDecodeFrameRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	snap := AppendSnapshot(nil, testInfo(), randomAssignment(rng, 1, 50, 4, 4), testSums())
	withByte := func(b []byte, i int, v byte) []byte {
		c := append([]byte(nil), b...)
		c[i] = v
		return c
	}
	// A forged snapshot: header, minimal run info, m=1, then a claimed
	// 2^27 images with nothing behind them.
	forged := appendHeader(nil, KindSnapshot, 0, 1)
	forged = appendRunInfo(forged, deepercluster.RunInfo{})
	forged = appendHierarchy(forged, 1, []int32{0})
	forged = binary.AppendUvarint(forged, 1<<27)
	// A snapshot whose sub-cluster parent disagrees with the super ids.
	bad := randomAssignment(rng, 1, 10, 2, 1)
	bad.Super[3] = 1 - bad.Super[3]
	// A delta claiming more changes than images.
	dl := appendHeader(nil, KindDelta, 0, 2)
	dl = binary.LittleEndian.AppendUint32(dl, 1)
	dl = binary.AppendUvarint(dl, 3)
	dl = appendHierarchy(dl, 1, []int32{0})
	dl = binary.AppendUvarint(dl, 4)
	// Run infos: an unknown flag bit, and a device cut short.
	ri := AppendRunInfo(nil, deepercluster.RunInfo{})
	withDev := testInfo()
	withDev.Device = deepercluster.DeviceInfo{Kind: "opencl", Name: "pocl", MemoryBytes: 1 << 30}
	riDev := AppendRunInfo(nil, withDev)
	cases := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown run info flag", withByte(ri, len(ri)-1, 4)},
		{"truncated device", riDev[:len(riDev)-3]},
		{"short header", []byte("DC\x01")},
		{"bad magic", withByte(snap, 0, 'X')},
		{"future version", withByte(snap, 2, 99)},
		{"unknown kind", withByte(snap, 3, 200)},
		{"truncated snapshot", snap[:len(snap)-5]},
		{"trailing bytes", append(append([]byte(nil), snap...), 0)},
		{"forged image count", forged},
		{"invalid assignment", AppendSnapshot(nil, testInfo(), bad, nil)},
		{"too many changes", dl},
		{"truncated ping", AppendPing(nil, 1)[:HeaderSize+3]},
		{"huge string", binary.AppendUvarint(appendHeader(nil, KindProgress, 0, 0), 1<<40)},
		{"bad varint", append(appendHeader(nil, KindSummaries, 0, 0), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeFrame(c.b)
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("got %v, want ErrBadFrame", err)
			}
		})
	}
}

func FuzzDecodeFrame(f *testing.F) {
	rng := rand.New(rand.NewPCG(10, 11))
	a := randomAssignment(rng, 1, 40, 3, 3)
	next := randomAssignment(rng, 2, 40, 3, 3)
	d, _ := deepercluster.DiffAssignments(a, next)
	d.Summaries = testSums()
	f.Add(AppendSnapshot(nil, testInfo(), a, testSums()))
	f.Add(AppendDelta(nil, 1, &d))
	f.Add(AppendProgress(nil, 1, 1, testInfo().Progress))
	f.Add(AppendMetrics(nil, 1, deepercluster.Metrics{Version: 1}))
	f.Add(AppendRunInfo(nil, testInfo()))
	withDev := testInfo()
	withDev.Device = deepercluster.DeviceInfo{Kind: "cuda", Name: "NVIDIA H100", MemoryBytes: 80 << 30}
	f.Add(AppendRunInfo(nil, withDev))
	f.Add(AppendSummaries(nil, 1, 1, testSums()))
	f.Add(AppendPing(nil, 3))
	f.Add(AppendRequestSnapshot(nil, 3))
	f.Add(AppendHistory(nil, 1, 2, testHistory()))
	f.Add(AppendLayout(nil, 1, &deepercluster.Layout{Version: 2, X: []float32{0, 1, 2}, Y: []float32{3, -1, 0}}))
	f.Add(AppendLayoutDelta(nil, 1, &deepercluster.LayoutDelta{Version: 2, N: 3, Index: []uint32{0, 2}, X: []float32{1, 2}, Y: []float32{0, 5}}))
	f.Add(AppendLayoutProgress(nil, 1, 2, deepercluster.LayoutProgress{Stage: "knn", Done: 0.5}))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeFrame(b)
		if err != nil {
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("error %v does not wrap ErrBadFrame", err)
			}
			return
		}
		switch fr.Kind {
		case KindSnapshot:
			if err := fr.Assignment.Validate(); err != nil {
				t.Fatalf("decoded invalid assignment: %v", err)
			}
			fr.Assignment.Sizes()
			// Re-encoding a decoded snapshot must decode to the same.
			again, err := DecodeFrame(AppendSnapshot(nil, *fr.Info, fr.Assignment, fr.Summaries))
			if err != nil {
				t.Fatalf("re-encoded snapshot: %v", err)
			}
			if !reflect.DeepEqual(again.Assignment, fr.Assignment) {
				t.Fatal("re-encoded snapshot differs")
			}
		case KindDelta:
			cur := &deepercluster.Assignment{Version: fr.Delta.From, M: 1, SubParent: []int32{0}, Super: make([]int32, fr.Delta.N), Sub: make([]int32, fr.Delta.N)}
			if fr.Delta.Apply(cur) == nil {
				if err := cur.Validate(); err != nil {
					t.Fatalf("applied delta left invalid assignment: %v", err)
				}
			}
		}
	})
}

func BenchmarkSnapshot1M(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := randomAssignment(rng, 1, 1_000_000, 16, 100)
	buf := AppendSnapshot(nil, testInfo(), a, nil)
	b.SetBytes(int64(len(buf)))
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			buf = AppendSnapshot(buf[:0], testInfo(), a, nil)
		}
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := DecodeFrame(buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}

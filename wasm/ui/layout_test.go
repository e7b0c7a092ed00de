package ui

import (
	"math"
	"math/rand/v2"
	"testing"
)

func checkTiling(t *testing.T, what string, values []float64, bounds Rect, rects []Rect) {
	t.Helper()
	total := 0.0
	for _, v := range values {
		if v > 0 {
			total += v
		}
	}
	eps := 1e-3 * math.Max(1, math.Max(float64(bounds.W), float64(bounds.H)))
	for i, r := range rects {
		if !r.Inside(bounds, eps) {
			t.Fatalf("%s: cell %d %+v outside bounds %+v", what, i, r, bounds)
		}
		if !(values[i] > 0) {
			if r.Area() != 0 {
				t.Fatalf("%s: zero value %d got area %g", what, i, r.Area())
			}
			continue
		}
		want := values[i] / total * bounds.Area()
		if got := r.Area(); math.Abs(got-want) > 1e-3*want+1e-3 {
			t.Fatalf("%s: cell %d area %g, want %g (value %g of %g)", what, i, got, want, values[i], total)
		}
	}
	// Cells hold float32 coordinates, so two cells that share an edge can
	// overlap by a strip as thin as the float32 spacing at the bounds'
	// largest coordinate (a few ulps), along the longer of their sides:
	// rounding, not a layout error. A real overlap is far wider.
	far := float32(math.Max(math.Max(math.Abs(float64(bounds.X)), math.Abs(float64(bounds.X+bounds.W))),
		math.Max(math.Abs(float64(bounds.Y)), math.Abs(float64(bounds.Y+bounds.H)))))
	strip := 4 * float64(math.Nextafter32(far, math.MaxFloat32)-far)
	for i := range rects {
		for j := i + 1; j < len(rects); j++ {
			side := math.Max(math.Max(float64(rects[i].W), float64(rects[i].H)), math.Max(float64(rects[j].W), float64(rects[j].H)))
			if ov := rects[i].Overlap(rects[j]); ov > 1e-3*math.Min(rects[i].Area(), rects[j].Area())+1e-6+strip*side {
				t.Fatalf("%s: cells %d %+v and %d %+v overlap by %g", what, i, rects[i], j, rects[j], ov)
			}
		}
	}
}

func TestSquarify(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	longTail := make([]float64, 300)
	for i := range longTail {
		longTail[i] = math.Floor(1000 / float64(i+1))
	}
	random := make([]float64, 200)
	for i := range random {
		random[i] = float64(1 + rng.IntN(500))
	}
	tests := []struct {
		name   string
		values []float64
		bounds Rect
		// maxAspect bounds the worst cell's aspect ratio (0: unchecked).
		maxAspect float64
	}{
		{"one", []float64{5}, R(0, 0, 100, 50), 0},
		{"equal four in a square", []float64{1, 1, 1, 1}, R(10, 20, 100, 100), 1.01},
		{"paper example", []float64{6, 6, 4, 3, 2, 2, 1}, R(0, 0, 6, 4), 3},
		{"with zeros", []float64{0, 3, 0, 2, 1, 0}, R(0, 0, 30, 20), 0},
		{"tall bounds", []float64{5, 4, 3, 2, 1}, R(0, 0, 10, 300), 0},
		{"long tail", longTail, R(0, 0, 1280, 800), 0},
		{"random order", random, R(-5, 3, 640, 480), 0},
		{"all zero", []float64{0, 0}, R(0, 0, 10, 10), 0},
		{"empty", nil, R(0, 0, 10, 10), 0},
	}
	algos := []struct {
		name string
		f    func([]float64, Rect, []Rect) []Rect
		// aspectSlack multiplies maxAspect: binary splitting trades
		// squareness for stability.
		aspectSlack float64
	}{{"squarify", Squarify, 1}, {"split", SplitLayout, 2}}
	for _, algo := range algos {
		for _, tc := range tests {
			tc.maxAspect *= algo.aspectSlack
			t.Run(algo.name+"/"+tc.name, func(t *testing.T) {
				rects := algo.f(tc.values, tc.bounds, nil)
				if len(rects) != len(tc.values) {
					t.Fatalf("%d rects for %d values", len(rects), len(tc.values))
				}
				checkTiling(t, tc.name, tc.values, tc.bounds, rects)
				if tc.maxAspect > 0 {
					for i, r := range rects {
						a := math.Max(float64(r.W/r.H), float64(r.H/r.W))
						if a > tc.maxAspect {
							t.Errorf("cell %d aspect %.2f > %.2f", i, a, tc.maxAspect)
						}
					}
				}
				// The cells must cover the bounds when any value is positive.
				sum := 0.0
				for _, r := range rects {
					sum += r.Area()
				}
				if sum > 0 && math.Abs(sum-tc.bounds.Area()) > 1e-3*tc.bounds.Area() {
					t.Errorf("cells cover %g of %g", sum, tc.bounds.Area())
				}
			})
		}
	}
}

// synth makes a random two-level assignment of n images: m super-clusters,
// about k sub-clusters each, long-tailed sizes.
type synthA struct {
	super, sub []int32
	m          int
	subParent  []int32
}

func synth(rng *rand.Rand, n, m, k int) synthA {
	a := synthA{m: m}
	for s := 0; s < m; s++ {
		for j := 0; j < k; j++ {
			a.subParent = append(a.subParent, int32(s))
		}
	}
	a.super = make([]int32, n)
	a.sub = make([]int32, n)
	for i := 0; i < n; i++ {
		// Zipf-ish choice of the sub-cluster.
		z := int(float64(len(a.subParent)) * math.Pow(rng.Float64(), 2))
		if i < len(a.subParent) {
			z = i // every cluster non-empty
		}
		a.sub[i] = int32(z)
		a.super[i] = a.subParent[z]
	}
	return a
}

func (a synthA) input(st *Stable, version uint32) (Input, []int32, []int32) {
	var sm, zm []int32
	if st != nil {
		sm, zm = st.Update(version, a.super, a.sub, a.m, a.subParent)
	}
	in := Input{M: a.m, SubParent: a.subParent, SuperSize: make([]int, a.m), SubSize: make([]int, len(a.subParent))}
	for i := range a.super {
		in.SuperSize[a.super[i]]++
		in.SubSize[a.sub[i]]++
	}
	if st != nil {
		in.SuperRank, in.SubRank, in.SuperKey, in.SubKey = st.SuperRank, st.SubRank, st.SuperKey, st.SubKey
	}
	return in, sm, zm
}

func TestBuildNested(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a := synth(rng, 5000, 6, 12)
	for _, mode := range []Mode{ModeSuperClusters, ModeSuperClasses} {
		t.Run(mode.String(), func(t *testing.T) {
			var st Stable
			in, _, _ := a.input(&st, 1)
			bounds := R(0, 0, 1000, 700)
			tm := Build(in, bounds, mode)
			roots := make([]float64, a.m)
			var rootRects []Rect
			for i := int32(0); i < tm.Roots; i++ {
				n := tm.Nodes[i]
				if n.Level != LevelSuper || tm.SuperNode[n.Super] != i {
					t.Fatalf("root %d: %+v", i, n)
				}
				roots[i] = float64(in.SuperSize[n.Super])
				rootRects = append(rootRects, n.Rect)
			}
			checkTiling(t, "supers", roots, bounds, rootRects)
			nsubNodes := 0
			var walk func(p int32)
			walk = func(p int32) {
				pn := tm.Nodes[p]
				var vals []float64
				var rects []Rect
				for k := pn.First; k < pn.First+pn.Count; k++ {
					c := tm.Nodes[k]
					if c.Super != pn.Super {
						t.Fatalf("node %d (super %d) under node %d (super %d)", k, c.Super, p, pn.Super)
					}
					if c.Level == LevelSub {
						nsubNodes++
						if a.subParent[c.Sub] != c.Super {
							t.Fatalf("sub %d drawn in super %d", c.Sub, c.Super)
						}
						vals = append(vals, float64(in.SubSize[c.Sub]))
						// Hit-testing the centre finds this very cell.
						x, y := c.Rect.Center()
						if c.Rect.W > 0 && c.Rect.H > 0 {
							if h := tm.Hit(x, y); h != k {
								t.Fatalf("hit at centre of node %d found %d", k, h)
							}
						}
					} else {
						vals = append(vals, float64(c.Size))
						walk(k)
					}
					rects = append(rects, c.Rect)
				}
				checkTiling(t, "children", vals, pn.Rect, rects)
			}
			for i := int32(0); i < tm.Roots; i++ {
				walk(i)
			}
			want := len(a.subParent)
			if mode == ModeSuperClasses {
				want *= 4
			}
			if nsubNodes != want {
				t.Fatalf("%d sub cells, want %d", nsubNodes, want)
			}
			for z, k := range tm.SubNode {
				if tm.Nodes[k].Sub != int32(z) || tm.Nodes[k].Rot > 0 {
					t.Fatalf("SubNode[%d] = %d holds sub %d rot %d", z, k, tm.Nodes[k].Sub, tm.Nodes[k].Rot)
				}
			}
			if h := tm.Hit(-1, -1); h != -1 {
				t.Fatalf("hit outside the map found %d", h)
			}
		})
	}
}

func TestMatchByOverlap(t *testing.T) {
	tests := []struct {
		name       string
		old, nw    []int32
		nOld, nNew int
		want       []int32
	}{
		{"relabelled", []int32{0, 0, 1, 1, 2}, []int32{2, 2, 0, 0, 1}, 3, 3, []int32{1, 2, 0}},
		{"split keeps the larger part", []int32{0, 0, 0, 1}, []int32{0, 0, 1, 2}, 2, 3, []int32{0, -1, 1}},
		{"merge matches one", []int32{0, 0, 1, 1, 1}, []int32{0, 0, 0, 0, 0}, 2, 1, []int32{1}},
		{"greedy by overlap", []int32{0, 0, 0, 1, 1}, []int32{1, 1, 0, 0, 0}, 2, 2, []int32{1, 0}},
		{"new cluster without images", []int32{0, 1}, []int32{0, 1}, 2, 3, []int32{0, 1, -1}},
		{"ids out of range ignored", []int32{0, 5, -1}, []int32{0, 0, 0}, 1, 1, []int32{0}},
		{"nothing", nil, nil, 0, 2, []int32{-1, -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := MatchByOverlap(tc.old, tc.nw, tc.nOld, tc.nNew)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// relabel permutes the ids of a (as k-means does between runs) and moves a
// fraction of the images to other sub-clusters.
func relabel(rng *rand.Rand, a synthA, moveFrac float64) (synthA, []int32, []int32) {
	sp := rng.Perm(a.m)
	zp := rng.Perm(len(a.subParent))
	b := synthA{m: a.m, subParent: make([]int32, len(a.subParent)), super: make([]int32, len(a.super)), sub: make([]int32, len(a.sub))}
	for z, p := range a.subParent {
		b.subParent[zp[z]] = int32(sp[p])
	}
	for i := range a.sub {
		z := int(a.sub[i])
		if i >= len(a.subParent) && rng.Float64() < moveFrac {
			z = rng.IntN(len(a.subParent))
		}
		b.sub[i] = int32(zp[z])
		b.super[i] = b.subParent[b.sub[i]]
	}
	oldOfNewSuper := make([]int32, a.m)
	for s, ns := range sp {
		oldOfNewSuper[ns] = int32(s)
	}
	oldOfNewSub := make([]int32, len(zp))
	for z, nz := range zp {
		oldOfNewSub[nz] = int32(z)
	}
	return b, oldOfNewSuper, oldOfNewSub
}

func TestStableLayoutAcrossVersions(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	bounds := R(0, 0, 1200, 800)
	for _, tc := range []struct {
		name     string
		moveFrac float64
		// maxMean bounds the mean centre shift of sub-clusters, as a
		// fraction of the map's width.
		maxMean float64
	}{
		{"relabelled only", 0, 1e-4},
		{"relabelled, 5% moved", 0.05, 0.04},
		{"relabelled, 15% moved", 0.15, 0.08},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := synth(rng, 20000, 8, 25)
			var st Stable
			in1, _, _ := a.input(&st, 1)
			t1 := Build(in1, bounds, ModeSuperClusters)
			b, trueSuper, trueSub := relabel(rng, a, tc.moveFrac)
			in2, sm, zm := b.input(&st, 2)
			for s := range sm {
				if sm[s] != trueSuper[s] {
					t.Fatalf("super %d matched to %d, want %d", s, sm[s], trueSuper[s])
				}
			}
			wrong := 0
			for z := range zm {
				if zm[z] != trueSub[z] {
					wrong++
				}
			}
			if wrong > len(zm)/20 {
				t.Fatalf("%d of %d sub-clusters matched wrongly", wrong, len(zm))
			}
			t2 := Build(in2, bounds, ModeSuperClusters)
			t2.AnimateFrom(t1, sm, zm)
			// Naive: the same version laid out without matching, in the
			// order of its (arbitrary, k-means-given) ids.
			inN, _, _ := b.input(nil, 2)
			tn := Build(inN, bounds, ModeSuperClusters)
			shift := func(tm *Treemap) float64 {
				sum := 0.0
				for z := range trueSub {
					x1, y1 := t1.Nodes[t1.SubNode[trueSub[z]]].Rect.Center()
					x2, y2 := tm.Nodes[tm.SubNode[z]].Rect.Center()
					sum += math.Hypot(x2-x1, y2-y1)
				}
				return sum / float64(len(trueSub)) / float64(bounds.W)
			}
			stable, naive := shift(t2), shift(tn)
			t.Logf("mean centre shift: stable %.4f, naive %.4f of the width", stable, naive)
			if stable > tc.maxMean {
				t.Errorf("stable layout moved clusters by %.4f of the width, want <= %.4f", stable, tc.maxMean)
			}
			if tc.moveFrac > 0 && stable > naive/2 {
				t.Errorf("stable layout (%.4f) not clearly better than a fresh one (%.4f)", stable, naive)
			}
			// Colours persist with the clusters.
			for z := range trueSub {
				if zm[z] == trueSub[z] && t2.Nodes[t2.SubNode[z]].Color != t1.Nodes[t1.SubNode[trueSub[z]]].Color {
					t.Fatalf("sub %d changed colour", z)
				}
			}
			// The transition starts where the matched cluster was.
			for z := range zm {
				if o := zm[z]; o >= 0 {
					if got, want := t2.Nodes[t2.SubNode[z]].From, t1.Nodes[t1.SubNode[o]].Rect; got != want {
						t.Fatalf("sub %d starts at %+v, want %+v", z, got, want)
					}
				}
			}
		})
	}
}

func TestAnimateFromModeToggle(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	a := synth(rng, 3000, 4, 10)
	var st Stable
	in, _, _ := a.input(&st, 1)
	bounds := R(0, 0, 800, 600)
	t1 := Build(in, bounds, ModeSuperClusters)
	t2 := Build(in, bounds, ModeSuperClasses)
	t2.AnimateFrom(t1, nil, nil)
	for i := int32(0); i < t2.Roots; i++ {
		if t2.Nodes[i].From != t1.Nodes[t1.SuperNode[t2.Nodes[i].Super]].Rect {
			t.Fatalf("super node %d does not start at its old place", i)
		}
	}
	for _, n := range t2.Nodes {
		if n.Level == LevelSub && n.From != t1.Nodes[t1.SubNode[n.Sub]].Rect {
			t.Fatalf("sub %d rot %d starts at %+v, want %+v", n.Sub, n.Rot, n.From, t1.Nodes[t1.SubNode[n.Sub]].Rect)
		}
	}
	// And back: rotation-r copies map onto the same place again.
	t3 := Build(in, bounds, ModeSuperClasses)
	t3.AnimateFrom(t2, nil, nil)
	for i, n := range t3.Nodes {
		if d := math.Abs(float64(n.From.X-n.Rect.X)) + math.Abs(float64(n.From.Y-n.Rect.Y)); d > 1e-3 {
			t.Fatalf("node %d (level %d rot %d) starts %g away from its identical place", i, n.Level, n.Rot, d)
		}
	}
}

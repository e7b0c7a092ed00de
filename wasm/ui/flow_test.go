package ui

import (
	"math"
	"testing"
)

func TestLayoutFlow(t *testing.T) {
	cases := []struct {
		name  string
		in    FlowInput
		super bool
		// rightOrder is the expected order of the right column's ids.
		rightOrder []int32
		// splits are the left ids with two or more major links (Major >= 2),
		// merges the right ids with two or more.
		splits, merges []int32
	}{
		{
			name: "persisting clusters line up",
			in: FlowInput{Links: []FlowLink{{0, 2, 50}, {1, 0, 30}, {2, 1, 20}},
				FromParent: []int32{0, 0, 0}, ToParent: []int32{0, 0, 0}},
			rightOrder: []int32{2, 0, 1},
		},
		{
			name: "a split fans out, a merge gathers",
			in: FlowInput{Links: []FlowLink{{0, 0, 40}, {0, 1, 40}, {1, 2, 10}, {2, 2, 10}},
				FromParent: []int32{0, 0, 1}, ToParent: []int32{0, 0, 1}},
			rightOrder: []int32{0, 1, 2},
			splits:     []int32{0},
			merges:     []int32{2},
		},
		{
			name: "super-clusters mode sums sub-clusters",
			in: FlowInput{Links: []FlowLink{{0, 0, 5}, {1, 1, 5}, {2, 2, 7}, {3, 2, 3}},
				FromParent: []int32{0, 0, 1, 1}, ToParent: []int32{1, 1, 0}, Super: true},
			rightOrder: []int32{1, 0},
		},
		{
			name: "right column grouped by super-cluster follows the left",
			in: FlowInput{Links: []FlowLink{{0, 3, 30}, {1, 0, 25}, {2, 1, 20}, {3, 2, 5}},
				FromParent: []int32{0, 0, 1, 1}, ToParent: []int32{0, 0, 1, 1}},
			// left: super 0 (55: subs 0, 1), super 1 (25: subs 2, 3)
			// right: super 1 (subs 2, 3) draws from ranks 3 and 0 (bary
			// (5*3+30*0)/35), super 0 from ranks 1 and 2: super 1 first.
			rightOrder: []int32{3, 2, 0, 1},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const h, gap = 400.0, 6.0
			f := LayoutFlow(c.in, h, gap)
			total := 0
			for _, l := range c.in.Links {
				total += l.Count
			}
			if f.Total != total {
				t.Fatalf("total %d, want %d", f.Total, total)
			}
			var got []int32
			for _, n := range f.Right {
				got = append(got, n.ID)
			}
			if !equal32(got, c.rightOrder) {
				t.Fatalf("right order %v, want %v", got, c.rightOrder)
			}
			sums := func(ns []FlowNode) (int, float64) {
				s, hs := 0, 0.0
				for i, n := range ns {
					s += n.Count
					hs += n.H
					if n.Y < -1e-9 || n.Y+n.H > h+1e-9 {
						t.Fatalf("node %d at [%v, %v] outside [0, %v]", n.ID, n.Y, n.Y+n.H, h)
					}
					if i > 0 && n.Y < ns[i-1].Y+ns[i-1].H+gap-1e-9 {
						t.Fatalf("node %d overlaps the one above", n.ID)
					}
				}
				return s, hs
			}
			ls, lh := sums(f.Left)
			rs, rh := sums(f.Right)
			if ls != total || rs != total || math.Abs(lh-rh) > 1e-9 {
				t.Fatalf("columns sum to %d (%v px) and %d (%v px), want %d both", ls, lh, rs, rh, total)
			}
			// Every band starts inside its left node and ends inside its
			// right node; bands of a node tile it exactly.
			lUsed := make([]float64, len(f.Left))
			rUsed := make([]float64, len(f.Right))
			for _, b := range f.Bands {
				l, r := f.Left[b.L], f.Right[b.R]
				if b.Y0 < l.Y-1e-9 || b.Y0+b.H > l.Y+l.H+1e-9 || b.Y1 < r.Y-1e-9 || b.Y1+b.H > r.Y+r.H+1e-9 {
					t.Fatalf("band %+v leaves its nodes %+v %+v", b, l, r)
				}
				lUsed[b.L] += b.H
				rUsed[b.R] += b.H
				if mid := b.BandTop(0.5); math.Abs(mid-(b.Y0+b.Y1)/2) > 1e-9 {
					t.Fatalf("band top at the middle %v, want %v", mid, (b.Y0+b.Y1)/2)
				}
				if i := f.HitBand(0.5, b.BandTop(0.5)+b.H/2); i < 0 || f.Bands[i].H > b.H {
					t.Fatalf("hit in the middle of band %+v gives %d", b, i)
				}
			}
			for i, n := range f.Left {
				if math.Abs(lUsed[i]-n.H) > 1e-9 {
					t.Fatalf("left node %d: bands cover %v of %v", n.ID, lUsed[i], n.H)
				}
			}
			for i, n := range f.Right {
				if math.Abs(rUsed[i]-n.H) > 1e-9 {
					t.Fatalf("right node %d: bands cover %v of %v", n.ID, rUsed[i], n.H)
				}
			}
			check := func(ns []FlowNode, want []int32, what string) {
				var got []int32
				for _, n := range ns {
					if n.Major >= 2 {
						got = append(got, n.ID)
					}
				}
				if !equal32(got, want) {
					t.Fatalf("%s: %v, want %v", what, got, want)
				}
			}
			check(f.Left, c.splits, "splits")
			check(f.Right, c.merges, "merges")
		})
	}
}

func TestLayoutFlowEmpty(t *testing.T) {
	f := LayoutFlow(FlowInput{}, 300, 4)
	if f.Total != 0 || len(f.Left) != 0 || len(f.Bands) != 0 || f.HitBand(0.5, 10) != -1 {
		t.Fatalf("empty flow laid out as %+v", f)
	}
}

func equal32(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

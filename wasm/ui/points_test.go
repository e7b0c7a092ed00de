package ui

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPointGrid(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 5000
	xs, ys := make([]float32, n), make([]float32, n)
	for i := range xs {
		// Clustered: four blobs, so cells are uneven.
		c := float64(i % 4)
		xs[i] = float32(10*c + rng.NormFloat64())
		ys[i] = float32(-5*c + 2*rng.NormFloat64())
	}
	for _, perCell := range []int{1, 8, 64, n} {
		g := NewPointGrid(xs, ys, perCell)
		polys := [][]float64{
			{0, -20, 25, -20, 25, 5, 0, 5},               // a rectangle
			{-3, 3, 35, -18, 12, -2},                     // a triangle
			{0, 0, 20, 0, 0, -10, 20, -10},               // a bow tie (even-odd)
			{100, 100, 101, 100, 101, 101},               // outside every point
			{-100, -100, 100, -100, 100, 100, -100, 100}, // all of them
		}
		for _, poly := range polys {
			got := g.InPolygon(xs, ys, poly)
			var want []int32
			for i := range xs {
				if PointInPolygon(float64(xs[i]), float64(ys[i]), poly) {
					want = append(want, int32(i))
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("perCell %d, polygon %v: grid finds %d points, brute force %d", perCell, poly, len(got), len(want))
			}
		}
		if got := g.InPolygon(xs, ys, []float64{0, 0, 1, 1}); got != nil {
			t.Fatalf("a two-vertex polygon selects %d points", len(got))
		}
		for q := 0; q < 200; q++ {
			x, y, r := rng.Float64()*40-5, rng.Float64()*30-25, rng.Float64()*2
			got := g.Nearest(xs, ys, x, y, r)
			want, bestD := int32(-1), r*r
			for i := range xs {
				dx, dy := float64(xs[i])-x, float64(ys[i])-y
				if d := dx*dx + dy*dy; d < bestD || (d == bestD && want >= 0 && int32(i) < want) || (d <= bestD && want < 0) {
					want, bestD = int32(i), d
				}
			}
			if got != want {
				t.Fatalf("perCell %d: nearest to (%v,%v) within %v: %d, want %d", perCell, x, y, r, got, want)
			}
		}
		nv, ids := g.Visible(xs, ys, 0, -20, 25, 5, 10)
		want := 0
		for i := range xs {
			if xs[i] >= 0 && xs[i] <= 25 && ys[i] >= -20 && ys[i] <= 5 {
				want++
			}
		}
		if nv != min(want, 11) || len(ids) != min(10, want) {
			t.Fatalf("visible: %d (%d ids), want %d", nv, len(ids), want)
		}
		if nv, ids := g.Visible(xs, ys, 0, -20, 25, 5, n); nv != want || len(ids) != want {
			t.Fatalf("visible without a limit: %d (%d ids), want %d", nv, len(ids), want)
		}
	}
}

func TestPointInPolygon(t *testing.T) {
	sq := []float64{0, 0, 10, 0, 10, 10, 0, 10}
	for _, c := range []struct {
		x, y float64
		in   bool
	}{{5, 5, true}, {-1, 5, false}, {11, 5, false}, {5, 11, false}, {0.01, 9.99, true}, {math.NaN(), 5, false}} {
		if got := PointInPolygon(c.x, c.y, sq); got != c.in {
			t.Errorf("(%v,%v) in square: %v, want %v", c.x, c.y, got, c.in)
		}
	}
}

func TestPlaceLabels(t *testing.T) {
	cases := []struct {
		name   string
		labels []Label
		shown  []bool
	}{
		{"apart", []Label{{X: 50, Y: 50, W: 40, H: 12, Weight: 1}, {X: 200, Y: 50, W: 40, H: 12, Weight: 2}}, []bool{true, true}},
		{"same spot: the heavier centred, the other moved above",
			[]Label{{X: 100, Y: 100, W: 40, H: 12, Weight: 1}, {X: 100, Y: 100, W: 40, H: 12, Weight: 5}}, []bool{true, true}},
		{"off screen", []Label{{X: -50, Y: 50, W: 40, H: 12, Weight: 1}}, []bool{false}},
		{"crowded: one wins", []Label{
			{X: 160, Y: 20, W: 300, H: 30, Weight: 3}, {X: 160, Y: 20, W: 300, H: 30, Weight: 2},
			{X: 160, Y: 20, W: 300, H: 30, Weight: 1}}, []bool{true, false, false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			shown, at := PlaceLabels(c.labels, 320, 60)
			if c.name != "crowded: one wins" {
				shown, at = PlaceLabels(c.labels, 400, 300)
			}
			if !slices.Equal(shown, c.shown) {
				t.Fatalf("shown %v, want %v", shown, c.shown)
			}
			var boxes []Rect
			for i, l := range c.labels {
				if shown[i] {
					boxes = append(boxes, R(at[i][0], at[i][1], l.W, l.H))
				}
			}
			for i := range boxes {
				for j := i + 1; j < len(boxes); j++ {
					if boxes[i].Overlap(boxes[j]) > 0 {
						t.Fatalf("labels %v and %v overlap", boxes[i], boxes[j])
					}
				}
			}
		})
	}
}

func TestCentres(t *testing.T) {
	cx, cy, n := Centres([]float32{0, 2, 10, 5}, []float32{0, 2, 10, 7}, []int32{0, 0, 1, 9}, 3)
	if cx[0] != 1 || cy[0] != 1 || n[0] != 2 || cx[1] != 10 || n[1] != 1 || !math.IsNaN(cx[2]) || n[2] != 0 {
		t.Fatalf("centres %v %v %v", cx, cy, n)
	}
}

package ui

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestPointTiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 20000
	xs, ys := make([]float32, n), make([]float32, n)
	for i := range xs {
		xs[i], ys[i] = float32(rng.NormFloat64()*10), float32(rng.NormFloat64()*5+float64(i%3)*20)
	}
	lit := func(i int32) bool { return i%97 == 0 }
	shuffle := rng.Perm(n)
	order := make([]int32, n)
	for i, v := range shuffle {
		order[i] = int32(v)
	}
	tl := NewPointTiles(xs, ys, 16, order, lit)
	// The order is a permutation, each tile's lit points first.
	seen := slices.Clone(tl.Order)
	slices.Sort(seen)
	for i, v := range seen {
		if v != int32(i) {
			t.Fatalf("drawing order is not a permutation at %d", i)
		}
	}
	totalLit := 0
	for c := range tl.Lit {
		for k, id := range tl.Order[tl.Start[c]:tl.Start[c+1]] {
			if lit(id) != (int32(k) < tl.Lit[c]) {
				t.Fatalf("tile %d: point %d (lit %v) at place %d of %d lit", c, id, lit(id), k, tl.Lit[c])
			}
		}
		totalLit += int(tl.Lit[c])
	}
	inSpans := func(spans []Span) map[int32]bool {
		m := map[int32]bool{}
		for _, s := range spans {
			for _, id := range tl.Order[s.First : s.First+s.Count] {
				if m[id] {
					t.Fatalf("point %d drawn twice", id)
				}
				m[id] = true
			}
		}
		return m
	}
	cases := []struct {
		name           string
		x0, y0, x1, y1 float64
		budget         int
	}{
		{"whole map, budget above the points", -100, -100, 100, 100, n},
		{"whole map, a tenth", -100, -100, 100, 100, n / 10},
		{"zoomed in, small budget", -5, 15, 5, 25, 500},
		{"zoomed in, large budget", -5, 15, 5, 25, n},
		{"off the map", 500, 500, 600, 600, n},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spans, drawn := tl.Plan(c.x0, c.y0, c.x1, c.y1, c.budget, nil)
			got := inSpans(spans)
			if len(got) != drawn {
				t.Fatalf("drawn %d, spans hold %d", drawn, len(got))
			}
			inView, litInView := 0, 0
			for i := range xs {
				x, y := float64(xs[i]), float64(ys[i])
				if x >= c.x0 && x <= c.x1 && y >= c.y0 && y <= c.y1 {
					inView++
					if lit(int32(i)) {
						litInView++
						if !got[int32(i)] {
							t.Fatalf("lit point %d on screen not drawn", i)
						}
					}
					if c.budget >= n && !got[int32(i)] {
						t.Fatalf("point %d on screen not drawn with the budget above all points", i)
					}
				}
			}
			if c.budget < n && drawn > c.budget+totalLit+tl.Side*tl.Side {
				t.Fatalf("drawn %d over the budget %d", drawn, c.budget)
			}
			if c.budget < n && inView > c.budget && drawn < c.budget/2 {
				t.Fatalf("drawn %d, far under the budget %d with %d on screen", drawn, c.budget, inView)
			}
			t.Logf("%d on screen (%d lit), %d drawn in %d spans", inView, litInView, drawn, len(spans))
		})
	}
}

package ui

import (
	"math"
	"testing"
)

// FuzzLayout feeds arbitrary sizes and bounds to both treemap algorithms:
// no panic, every cell inside the bounds, areas proportional, no overlaps.
func FuzzLayout(f *testing.F) {
	f.Add([]byte{6, 6, 4, 3, 2, 2, 1}, uint16(600), uint16(400))
	f.Add([]byte{0, 0, 9, 0, 1}, uint16(10), uint16(1000))
	f.Add([]byte{255, 1, 1, 1, 1, 1, 1, 1, 1, 1}, uint16(1), uint16(1))
	f.Fuzz(func(t *testing.T, raw []byte, w, h uint16) {
		if len(raw) > 300 {
			raw = raw[:300]
		}
		values := make([]float64, len(raw))
		for i, b := range raw {
			values[i] = float64(b)
		}
		bounds := R(3, -7, float64(w), float64(h))
		for _, layout := range []func([]float64, Rect, []Rect) []Rect{Squarify, SplitLayout} {
			rects := layout(values, bounds, nil)
			if len(rects) != len(values) {
				t.Fatalf("%d rects for %d values", len(rects), len(values))
			}
			for _, r := range rects {
				if math.IsNaN(float64(r.X + r.Y + r.W + r.H)) {
					t.Fatalf("NaN rect %+v", r)
				}
			}
			if w > 0 && h > 0 {
				checkTiling(t, "fuzz", values, bounds, rects)
			}
		}
	})
}

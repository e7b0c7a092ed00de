package ui

import (
	"math"
	"slices"
)

// Label is a text to place on the map near a point: a cluster's name at
// its centre. W and H are its box in screen pixels, Weight its priority
// (the cluster's size: big clusters keep their names).
type Label struct {
	X, Y, W, H float64
	Weight     float64
}

// PlaceLabels places the labels greedily by decreasing weight, each
// centred on its point or, failing that, just above, below, left or right
// of it, and skips a label whose every candidate box overlaps one already
// placed or leaves the w x h screen. It returns, per label, whether it is
// shown and its box's top-left corner.
func PlaceLabels(labels []Label, w, h float64) (shown []bool, at [][2]float64) {
	shown = make([]bool, len(labels))
	at = make([][2]float64, len(labels))
	order := make([]int, len(labels))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case labels[a].Weight > labels[b].Weight:
			return -1
		case labels[a].Weight < labels[b].Weight:
			return 1
		}
		return 0
	})
	var placed []Rect
	for _, i := range order {
		l := labels[i]
		for _, off := range [5][2]float64{{0, 0}, {0, -l.H}, {0, l.H}, {-l.W/2 - 4, 0}, {l.W/2 + 4, 0}} {
			r := R(l.X-l.W/2+off[0], l.Y-l.H/2+off[1], l.W, l.H)
			if r.X < 0 || r.Y < 0 || float64(r.X+r.W) > w || float64(r.Y+r.H) > h {
				continue
			}
			if slices.ContainsFunc(placed, func(p Rect) bool { return p.Overlap(r) > 0 }) {
				continue
			}
			placed = append(placed, r)
			shown[i] = true
			at[i] = [2]float64{float64(r.X), float64(r.Y)}
			break
		}
	}
	return shown, at
}

// Centres returns the mean position and the number of points of each of n
// groups (group[i] is point i's group); a group without points has NaN
// centre.
func Centres(xs, ys []float32, group []int32, n int) (cx, cy []float64, count []int) {
	cx, cy, count = make([]float64, n), make([]float64, n), make([]int, n)
	for i := range min(len(xs), len(ys), len(group)) {
		g := group[i]
		if g < 0 || int(g) >= n {
			continue
		}
		cx[g] += float64(xs[i])
		cy[g] += float64(ys[i])
		count[g]++
	}
	for g := range n {
		if count[g] == 0 {
			cx[g], cy[g] = math.NaN(), math.NaN()
			continue
		}
		cx[g] /= float64(count[g])
		cy[g] /= float64(count[g])
	}
	return cx, cy, count
}

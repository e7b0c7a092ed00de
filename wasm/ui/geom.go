package ui

import "math"

// Rect is an axis-aligned rectangle in world or screen units. World rects are
// stored as float32 to keep 400,000 cells in a few megabytes; all arithmetic
// is done in float64.
type Rect struct{ X, Y, W, H float32 }

// R builds a Rect from float64 values.
func R(x, y, w, h float64) Rect { return Rect{float32(x), float32(y), float32(w), float32(h)} }

// Area is W*H.
func (r Rect) Area() float64 { return float64(r.W) * float64(r.H) }

// Contains reports whether the point lies inside r (left and top edges
// included, right and bottom excluded), so neighbouring cells never both
// claim a point.
func (r Rect) Contains(x, y float64) bool {
	return x >= float64(r.X) && y >= float64(r.Y) && x < float64(r.X)+float64(r.W) && y < float64(r.Y)+float64(r.H)
}

// Center is the middle point of r.
func (r Rect) Center() (x, y float64) {
	return float64(r.X) + float64(r.W)/2, float64(r.Y) + float64(r.H)/2
}

// Overlap is the area two rects share.
func (r Rect) Overlap(o Rect) float64 {
	w := math.Min(float64(r.X)+float64(r.W), float64(o.X)+float64(o.W)) - math.Max(float64(r.X), float64(o.X))
	h := math.Min(float64(r.Y)+float64(r.H), float64(o.Y)+float64(o.H)) - math.Max(float64(r.Y), float64(o.Y))
	if w <= 0 || h <= 0 {
		return 0
	}
	return w * h
}

// Inside reports whether r lies within o, allowing eps of rounding.
func (r Rect) Inside(o Rect, eps float64) bool {
	return float64(r.X) >= float64(o.X)-eps && float64(r.Y) >= float64(o.Y)-eps &&
		float64(r.X)+float64(r.W) <= float64(o.X)+float64(o.W)+eps &&
		float64(r.Y)+float64(r.H) <= float64(o.Y)+float64(o.H)+eps
}

// Lerp interpolates between a (t=0) and b (t=1).
func Lerp(a, b Rect, t float64) Rect {
	if t >= 1 {
		return b
	}
	if t <= 0 {
		return a
	}
	l := func(p, q float32) float32 { return p + float32(t)*(q-p) }
	return Rect{l(a.X, b.X), l(a.Y, b.Y), l(a.W, b.W), l(a.H, b.H)}
}

// Ease is a smooth step used for layout transitions: slow start and end.
func Ease(t float64) float64 {
	if t <= 0 {
		return 0
	}
	if t >= 1 {
		return 1
	}
	return t * t * (3 - 2*t)
}

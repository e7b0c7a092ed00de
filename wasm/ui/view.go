package ui

import "math"

// View maps world units to screen pixels: screen = (world - (X, Y)) * Scale.
type View struct{ Scale, X, Y float64 }

// Zoom limits: far enough out to see the whole map small, far enough in
// that a one-image cluster of a million-image map fills the screen.
const (
	MinScale = 0.25
	MaxScale = 1e5
)

// Identity is the view at which world and screen coincide.
func Identity() View { return View{Scale: 1} }

// ToScreen maps a world rect to screen coordinates.
func (v View) ToScreen(r Rect) (x0, y0, x1, y1 float64) {
	x0 = (float64(r.X) - v.X) * v.Scale
	y0 = (float64(r.Y) - v.Y) * v.Scale
	return x0, y0, x0 + float64(r.W)*v.Scale, y0 + float64(r.H)*v.Scale
}

// ToWorld maps a screen point to world coordinates.
func (v View) ToWorld(sx, sy float64) (x, y float64) {
	return sx/v.Scale + v.X, sy/v.Scale + v.Y
}

// Pan moves the view by (dx, dy) screen pixels: the map follows the pointer.
func (v *View) Pan(dx, dy float64) {
	v.X -= dx / v.Scale
	v.Y -= dy / v.Scale
}

// ZoomAt multiplies the scale by f, keeping the world point under the screen
// point (sx, sy) where it is.
func (v *View) ZoomAt(sx, sy, f float64) {
	if !(f > 0) || math.IsInf(f, 0) {
		return
	}
	wx, wy := v.ToWorld(sx, sy)
	v.Scale = math.Max(MinScale, math.Min(MaxScale, v.Scale*f))
	v.X = wx - sx/v.Scale
	v.Y = wy - sy/v.Scale
}

// Fit is the view that shows r centred on a w x h screen with margin pixels
// around it.
func Fit(r Rect, w, h, margin float64) View {
	rw, rh := math.Max(float64(r.W), 1e-9), math.Max(float64(r.H), 1e-9)
	s := math.Min((w-2*margin)/rw, (h-2*margin)/rh)
	s = math.Max(MinScale, math.Min(MaxScale, s))
	cx, cy := r.Center()
	return View{Scale: s, X: cx - w/2/s, Y: cy - h/2/s}
}

// LerpView interpolates two views for a smooth zoom-to: the scale moves
// geometrically and the centre linearly, so zooming feels even.
func LerpView(a, b View, w, h, t float64) View {
	if t >= 1 {
		return b
	}
	acx, acy := a.ToWorld(w/2, h/2)
	bcx, bcy := b.ToWorld(w/2, h/2)
	s := a.Scale * math.Pow(b.Scale/a.Scale, t)
	cx, cy := acx+t*(bcx-acx), acy+t*(bcy-acy)
	return View{Scale: s, X: cx - w/2/s, Y: cy - h/2/s}
}

package ui

import "math"

// Color is a straight (non-premultiplied) RGBA colour, the byte order of a
// canvas ImageData.
type Color struct{ R, G, B, A uint8 }

// Background is the page's map background.
var Background = Color{22, 24, 29, 255}

// Accent marks highlighted (search hit) cells.
var Accent = Color{255, 214, 64, 255}

// HSL converts hue (degrees), saturation and lightness (0..1) to a Color.
func HSL(h, s, l float64) Color {
	h = math.Mod(h, 360)
	if h < 0 {
		h += 360
	}
	c := (1 - math.Abs(2*l-1)) * s
	x := c * (1 - math.Abs(math.Mod(h/60, 2)-1))
	m := l - c/2
	var r, g, b float64
	switch {
	case h < 60:
		r, g, b = c, x, 0
	case h < 120:
		r, g, b = x, c, 0
	case h < 180:
		r, g, b = 0, c, x
	case h < 240:
		r, g, b = 0, x, c
	case h < 300:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}
	to := func(v float64) uint8 { return uint8(math.Round(math.Max(0, math.Min(1, v+m)) * 255)) }
	return Color{to(r), to(g), to(b), 255}
}

// mix32 is a cheap integer hash so neighbouring keys get unrelated shades.
func mix32(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x7feb352d
	x ^= x >> 15
	x *= 0x846ca68b
	x ^= x >> 16
	return x
}

// SuperColor is the colour of a super-cluster with colour key k: hues
// spread by the golden angle so that consecutive keys differ most.
func SuperColor(k uint32) Color {
	return HSL(float64(k)*137.508, 0.45, 0.34)
}

// SubColor is the colour of a sub-cluster: its super-cluster's hue, nudged,
// with its own lightness, so siblings are told apart and families grouped.
func SubColor(superKey, k uint32) Color {
	h := mix32(k*2654435761 + 12345)
	dh := float64(int(h%41)) - 20
	l := 0.42 + 0.22*float64((h>>8)%1000)/1000
	s := 0.42 + 0.2*float64((h>>20)%1000)/1000
	return HSL(float64(superKey)*137.508+dh, s, l)
}

// Shade multiplies the colour's channels by f (f < 1 darkens).
func (c Color) Shade(f float64) Color {
	sc := func(v uint8) uint8 { return uint8(math.Max(0, math.Min(255, math.Round(float64(v)*f)))) }
	return Color{sc(c.R), sc(c.G), sc(c.B), c.A}
}

// Mix blends c toward o by t in [0, 1].
func (c Color) Mix(o Color, t float64) Color {
	l := func(a, b uint8) uint8 { return uint8(math.Round(float64(a) + t*(float64(b)-float64(a)))) }
	return Color{l(c.R, o.R), l(c.G, o.G), l(c.B, o.B), l(c.A, o.A)}
}

// Dim is how a cell that does not match a search looks: mostly background
// grey with a hint of its colour, still visible, never hidden.
func (c Color) Dim() Color {
	g := uint8((uint16(c.R) + uint16(c.G) + uint16(c.B)) / 3)
	return Color{g, g, g, 255}.Mix(Background, 0.55)
}

// Hex is the CSS form #rrggbb.
func (c Color) Hex() string {
	const d = "0123456789abcdef"
	return string([]byte{'#', d[c.R>>4], d[c.R&15], d[c.G>>4], d[c.G&15], d[c.B>>4], d[c.B&15]})
}

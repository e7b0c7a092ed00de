package synthetic

import (
	"image"
	"math"
	"math/rand/v2"
)

// SceneKinds are the kinds of picture ScenePhoto draws.
var SceneKinds = []string{"sunset", "forest", "city", "mountain", "beach", "flower"}

// ScenePhoto draws a generated w x h "photo" of scene kind
// SceneKinds[kind%len]: a sunset over the sea, a forest of fir trees, a
// city at night with lit windows, snowy mountains, a beach with a
// parasol, a flower. Each seed varies positions, sizes and colours, and
// adds a little noise, so that the pictures are recognisable at a glance
// and cost what a photo costs to encode. For tests, benchmarks and demos
// of folder ingest.
func ScenePhoto(kind int, seed uint64, w, h int) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, uint64(kind)))
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	fw, fh := float64(w), float64(h)
	jit := func(v, d float64) float64 { return v + (r.Float64()*2-1)*d }
	set := func(x, y int, c [3]float64) {
		o := m.PixOffset(x, y)
		m.Pix[o], m.Pix[o+1], m.Pix[o+2], m.Pix[o+3] = c8(c[0]), c8(c[1]), c8(c[2]), 255
	}
	lerp := func(a, b [3]float64, t float64) [3]float64 {
		return [3]float64{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t, a[2] + (b[2]-a[2])*t}
	}
	// Sky and ground gradients, then shapes on top.
	fill := func(horizon float64, skyTop, skyLow, gTop, gLow [3]float64) {
		hy := int(horizon * fh)
		for y := range h {
			var c [3]float64
			if y < hy {
				c = lerp(skyTop, skyLow, float64(y)/math.Max(1, float64(hy)))
			} else {
				c = lerp(gTop, gLow, float64(y-hy)/math.Max(1, fh-float64(hy)))
			}
			for x := range w {
				set(x, y, c)
			}
		}
	}
	disc := func(cx, cy, rad float64, c [3]float64) {
		for y := max(0, int(cy-rad)); y < min(h, int(cy+rad)+1); y++ {
			for x := max(0, int(cx-rad)); x < min(w, int(cx+rad)+1); x++ {
				if (float64(x)-cx)*(float64(x)-cx)+(float64(y)-cy)*(float64(y)-cy) <= rad*rad {
					set(x, y, c)
				}
			}
		}
	}
	rect := func(x0, y0, x1, y1 float64, c [3]float64) {
		for y := max(0, int(y0)); y < min(h, int(y1)); y++ {
			for x := max(0, int(x0)); x < min(w, int(x1)); x++ {
				set(x, y, c)
			}
		}
	}
	// tri fills the triangle with apex (ax, ay) and base from bx0 to bx1 at by.
	tri := func(ax, ay, bx0, bx1, by float64, c [3]float64, cap float64) {
		for y := max(0, int(ay)); y < min(h, int(by)); y++ {
			t := (float64(y) - ay) / (by - ay)
			x0, x1 := ax+(bx0-ax)*t, ax+(bx1-ax)*t
			cc := c
			if t < cap {
				cc = [3]float64{245, 248, 255}
			}
			for x := max(0, int(x0)); x < min(w, int(x1)); x++ {
				set(x, y, cc)
			}
		}
	}
	switch SceneKinds[kind%len(SceneKinds)] {
	case "sunset":
		hz := jit(0.6, 0.08)
		fill(hz, [3]float64{jit(90, 30), 40, jit(110, 30)}, [3]float64{250, jit(150, 30), 60}, [3]float64{40, 60, jit(110, 20)}, [3]float64{10, 20, 50})
		disc(jit(fw/2, fw/4), hz*fh-jit(fh/10, fh/20), jit(fh/8, fh/30), [3]float64{255, 220, 120})
		rect(0, hz*fh, fw, fh, [3]float64{30, 40, 90})
		for k := 0; k < 12; k++ { // reflections
			y := hz*fh + float64(k)*fh/40 + 4
			rect(fw/2-jit(fw/8, fw/20), y, fw/2+jit(fw/8, fw/20), y+2, [3]float64{250, 180, 90})
		}
	case "forest":
		fill(jit(0.45, 0.1), [3]float64{150, 200, 250}, [3]float64{210, 230, 250}, [3]float64{60, 120, 40}, [3]float64{30, 70, 20})
		n := 5 + r.IntN(6)
		for k := range n {
			cx := (float64(k) + 0.5 + jit(0, 0.3)) * fw / float64(n)
			base := jit(0.85, 0.08) * fh
			ht := jit(0.55, 0.12) * fh
			rect(cx-fw/80, base-ht/6, cx+fw/80, base, [3]float64{90, 60, 30})
			tri(cx, base-ht, cx-ht/4, cx+ht/4, base-ht/8, [3]float64{jit(20, 10), jit(100, 25), jit(40, 15)}, 0)
		}
	case "city":
		fill(0.9, [3]float64{10, 10, 40}, [3]float64{40, 30, 80}, [3]float64{30, 30, 35}, [3]float64{20, 20, 25})
		disc(jit(fw*0.8, fw/10), jit(fh*0.15, fh/20), fh/14, [3]float64{240, 240, 210})
		x := 0.0
		for x < fw {
			bw := jit(fw/9, fw/30)
			top := jit(0.45, 0.25) * fh
			grey := jit(50, 15)
			rect(x, top, x+bw-3, 0.9*fh, [3]float64{grey, grey, grey + 10})
			for wy := top + 8; wy < 0.9*fh-10; wy += 14 {
				for wx := x + 6; wx < x+bw-12; wx += 12 {
					if r.IntN(3) > 0 {
						rect(wx, wy, wx+6, wy+7, [3]float64{255, jit(220, 20), 110})
					}
				}
			}
			x += bw
		}
	case "mountain":
		fill(jit(0.65, 0.08), [3]float64{60, 120, 220}, [3]float64{170, 210, 250}, [3]float64{90, 130, 80}, [3]float64{60, 100, 50})
		for k := range 3 {
			cx := jit(fw*(0.2+0.3*float64(k)), fw/10)
			peak := jit(0.2, 0.08) * fh
			tri(cx, peak, cx-fw*0.35, cx+fw*0.35, 0.7*fh, [3]float64{jit(110, 15), jit(110, 15), jit(125, 15)}, 0.3)
		}
	case "beach":
		hz := jit(0.45, 0.06)
		fill(hz, [3]float64{70, 150, 235}, [3]float64{160, 210, 245}, [3]float64{30, 130, 180}, [3]float64{60, 160, 190})
		rect(0, jit(0.62, 0.05)*fh, fw, fh, [3]float64{235, 215, 160})
		disc(jit(fw*0.15, fw/12), jit(fh*0.15, fh/20), fh/12, [3]float64{255, 250, 210})
		px := jit(fw*0.6, fw/6)
		rect(px-2, 0.5*fh, px+2, 0.85*fh, [3]float64{80, 60, 40})
		tri(px, 0.38*fh, px-fw/7, px+fw/7, 0.52*fh, [3]float64{jit(220, 30), 40, 50}, 0)
	case "flower":
		fill(0.5, [3]float64{70, jit(130, 30), 60}, [3]float64{50, 110, 40}, [3]float64{40, 100, 35}, [3]float64{30, 80, 25})
		cx, cy := jit(fw/2, fw/8), jit(fh/2, fh/8)
		pr := jit(fh/6, fh/30)
		pc := [3]float64{jit(230, 25), jit(80, 60), jit(150, 90)}
		for k := range 8 {
			a := float64(k) * math.Pi / 4
			disc(cx+math.Cos(a)*pr*1.3, cy+math.Sin(a)*pr*1.3, pr*0.75, pc)
		}
		disc(cx, cy, pr*0.7, [3]float64{250, 200, 40})
	}
	// A little sensor noise.
	for i := 0; i < len(m.Pix); i += 4 {
		n := uint8(r.IntN(9))
		for c := range 3 {
			if v := m.Pix[i+c]; v < 255-n {
				m.Pix[i+c] = v + n
			}
		}
	}
	return m
}

func c8(v float64) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}

package synthetic

import (
	"math"
)

// maxSceneObjects bounds the objects of one scene (concept objects, clouds,
// clutter), so the list lives on the stack.
const maxSceneObjects = 16

// object is one thing drawn in a scene, in image-fraction coordinates.
type object struct {
	shape      shapeKind
	tex        texture
	cx, top    float32 // centre x and top edge
	w, h       float32
	c1, c2, c3 rgb
	depth      float32 // drawing order: far (small) first; < 0 for the sky
	ground     bool    // stands on the ground and casts a shadow
	salt       uint32
}

// render draws one scene of concept cp into dst (res*res*3 bytes) using
// only r for randomness: sky, ground, objects standing on the ground with
// shadows below them, clutter, then global colour jitter and pixel noise.
func renderScene(dst []byte, res int, cp *concept, r *rng) {
	inv := 1 / float32(res)
	horizon := r.rangef(0.5, 0.68)
	if cp.inSky {
		horizon = r.rangef(0.62, 0.78)
	}
	// A quarter of the photos of a daylight concept are taken at another
	// time of day or in other weather, so the sky alone does not give the
	// concept away.
	sky := cp.sky
	if sky != skyNight && sky != skyStage && r.chance(0.25) {
		sky = daylightSkies[r.n(len(daylightSkies))]
	}
	skyT, skyH := jitter(skies[sky][0], r, 18), jitter(skies[sky][1], r, 18)
	grH, grB := jitter(grounds[cp.ground][0], r, 18), jitter(grounds[cp.ground][1], r, 14)
	salt := uint32(r.p.Uint64())

	for y := 0; y < res; y++ {
		fy := (float32(y) + 0.5) * inv
		row := dst[y*res*3 : (y+1)*res*3]
		if fy < horizon {
			// A sky row is one colour: convert it once, then copy bytes.
			put(row, 0, lerp(skyT, skyH, fy/horizon))
			for x := 3; x < len(row); x += 3 {
				row[x], row[x+1], row[x+2] = row[0], row[1], row[2]
			}
			if sky == skyNight {
				for x := 0; x < res; x++ {
					if hash(x, y, salt)&63 == 0 {
						row[3*x], row[3*x+1], row[3*x+2] = 230, 230, 210
					}
				}
			}
			continue
		}
		t := (fy - horizon) / (1 - horizon)
		col := lerp(grH, grB, t)
		z := 1 / (t + 0.12)
		for x := 0; x < res; x++ {
			fx := (float32(x) + 0.5) * inv
			put(row, x, groundPixel(cp.ground, col, fx, t, z, hash(x, y, salt)))
		}
	}

	var objs [maxSceneObjects]object
	n := 0
	// Clouds in bright skies.
	if (sky == skyDay || sky == skyOvercast || sky == skyHaze) && r.chance(0.6) {
		for k := 1 + r.n(2); k > 0 && n < maxSceneObjects; k-- {
			w := r.rangef(0.22, 0.4)
			h := w * r.rangef(0.25, 0.4)
			grey := r.rangef(225, 252)
			if sky == skyOvercast {
				grey -= 35
			}
			c := rgb{grey, grey, grey + 3}
			objs[n] = object{shape: shDisc, cx: r.rangef(0, 1), top: r.rangef(0.02, max(0.03, horizon*0.5-h)), w: w, h: h, c1: c, c2: c, c3: c, depth: -2}
			n++
		}
	}
	// The concept's own objects.
	count := cp.minN + r.n(cp.maxN-cp.minN+1)
	for k := 0; k < count && n < maxSceneObjects; k++ {
		objs[n] = conceptObject(cp, r, horizon)
		n++
	}
	// Clutter: small plain shapes, and sometimes a small object of another
	// concept, as in photos no one curated.
	for k := r.n(4); k > 0 && n < maxSceneObjects; k-- {
		shape := shapeKind(int(shDisc) + r.n(4))
		c := hsv(r.f(), r.rangef(0.2, 0.7), r.rangef(0.3, 0.85))
		o := object{shape: shape, c1: c, c2: c, c3: c, salt: uint32(r.p.Uint64())}
		o.h = r.rangef(0.05, 0.13)
		o.w = o.h * r.rangef(0.6, 1.6)
		placeOnGround(&o, r, horizon, 1)
		objs[n] = o
		n++
	}
	if r.chance(0.2) && n < maxSceneObjects {
		other := &concepts[r.n(len(concepts))]
		o := conceptObject(other, r, horizon)
		o.w, o.h = o.w*0.45, o.h*0.45
		if o.ground {
			o.top += o.h // keep its base where it was
		}
		objs[n] = o
		n++
	}
	// Painter's order: sky things, then far to near.
	for i := 1; i < n; i++ {
		for j := i; j > 0 && objs[j].depth < objs[j-1].depth; j-- {
			objs[j], objs[j-1] = objs[j-1], objs[j]
		}
	}
	for i := 0; i < n; i++ {
		if objs[i].ground {
			drawShadow(dst, res, &objs[i])
		}
		drawObject(dst, res, &objs[i])
	}

	// Global exposure, white balance and sensor noise.
	// Fixed point (8 fractional bits): this pass touches every byte.
	gain := r.rangef(0.85, 1.12)
	var cg [3]int32
	for ch := range cg {
		cg[ch] = int32(gain * r.rangef(0.94, 1.06) * 256)
	}
	amp := int32(r.rangef(3, 10) * 2) // noise in [-amp, amp)
	// Sensor noise needs no statistical quality: a xorshift step per pixel,
	// seeded from the image's stream, is far cheaper than PCG.
	x := r.p.Uint64() | 1
	g0, g1, g2 := cg[0], cg[1], cg[2]
	for p := 0; p+2 < len(dst); p += 3 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		px := dst[p : p+3 : p+3]
		v0 := (int32(px[0])*g0 + (int32(x&0xff)-128)*amp + 128) >> 8
		v1 := (int32(px[1])*g1 + (int32((x>>16)&0xff)-128)*amp + 128) >> 8
		v2 := (int32(px[2])*g2 + (int32((x>>32)&0xff)-128)*amp + 128) >> 8
		px[0] = byte(min(max(v0, 0), 255))
		px[1] = byte(min(max(v1, 0), 255))
		px[2] = byte(min(max(v2, 0), 255))
	}
}

// conceptObject makes one object of concept cp with its per-object noise:
// colour jitter, scale, position and depth.
func conceptObject(cp *concept, r *rng, horizon float32) object {
	o := object{shape: cp.shape, tex: cp.tex, salt: uint32(r.p.Uint64())}
	if cp.randHue {
		o.c1 = hsv(r.f(), r.rangef(0.7, 0.95), r.rangef(0.8, 1))
	} else {
		o.c1 = jitter(cp.c1, r, 22)
	}
	o.c2, o.c3 = jitter(cp.c2, r, 15), jitter(cp.c3, r, 10)
	s := cp.scale * r.rangef(0.85, 1.15)
	o.h, o.w = s, s*cp.aspect*r.rangef(0.9, 1.1)
	switch {
	case cp.shape == shSun:
		o.cx = r.rangef(0.2, 0.8)
		o.top = horizon - o.h*r.rangef(0.55, 1.0)
		o.depth = -1
	case cp.inSky:
		lo, hi := 0.04+o.h/2, horizon-o.h/2-0.04
		if hi < lo {
			hi = lo
		}
		o.cx = r.rangef(0.08, 0.92)
		o.top = r.rangef(lo, hi) - o.h/2
		o.depth = -1
	default:
		dmax := cp.depthMax
		if dmax == 0 {
			dmax = 1
		}
		placeOnGround(&o, r, horizon, dmax)
	}
	return o
}

// placeOnGround stands o on the ground at a random depth in [0, dmax):
// nearer objects are lower in the image and larger.
func placeOnGround(o *object, r *rng, horizon, dmax float32) {
	d := r.f() * dmax
	base := horizon + (0.04+d*0.9)*(1-horizon)
	f := 0.55 + 0.7*d
	o.h *= f
	o.w *= f
	o.top = base - o.h
	o.cx = r.rangef(0.05, 0.95)
	o.depth = d
	o.ground = true
}

// drawShadow darkens a flat ellipse of ground below o: light from above.
func drawShadow(dst []byte, res int, o *object) {
	fres := float32(res)
	cx := (o.cx + 0.08*o.w) * fres
	cy := (o.top + o.h) * fres
	rx := 0.6 * o.w * fres
	ry := (0.012 + 0.06*o.h) * fres
	x0, x1 := clampInt(int(cx-rx), res), clampInt(int(cx+rx)+1, res)
	y0, y1 := clampInt(int(cy-ry), res), clampInt(int(cy+ry)+1, res)
	for y := y0; y < y1; y++ {
		dy := (float32(y) + 0.5 - cy) / ry
		row := dst[y*res*3 : (y+1)*res*3]
		for x := x0; x < x1; x++ {
			dx := (float32(x) + 0.5 - cx) / rx
			if dx*dx+dy*dy <= 1 {
				row[3*x] = byte(int(row[3*x]) * 5 / 8)
				row[3*x+1] = byte(int(row[3*x+1]) * 5 / 8)
				row[3*x+2] = byte(int(row[3*x+2]) * 5 / 8)
			}
		}
	}
}

// drawObject paints o over dst, lit from above (brighter at its top).
func drawObject(dst []byte, res int, o *object) {
	fres := float32(res)
	left := (o.cx - o.w/2) * fres
	top := o.top * fres
	x0, x1 := clampInt(int(math.Floor(float64(left))), res), clampInt(int(math.Ceil(float64(left+o.w*fres))), res)
	y0, y1 := clampInt(int(math.Floor(float64(top))), res), clampInt(int(math.Ceil(float64(top+o.h*fres))), res)
	iw, ih := 2/(o.w*fres), 2/(o.h*fres)
	for y := y0; y < y1; y++ {
		v := (float32(y)+0.5-top)*ih - 1
		if v < -1 || v > 1 {
			continue
		}
		shade := 1.12 - 0.14*(v+1)
		row := dst[y*res*3 : (y+1)*res*3]
		for x := x0; x < x1; x++ {
			u := (float32(x)+0.5-left)*iw - 1
			if u < -1 || u > 1 {
				continue
			}
			var c rgb
			switch shapePart(o.shape, u, v) {
			case 0:
				continue
			case 1:
				c = texColour(o, u, v, x, y)
			case 2:
				c = o.c2
			case 3:
				c = o.c3
			}
			put(row, x, scale(c, shade))
		}
	}
}

// texColour is the colour of part 1 of o at local (u, v).
func texColour(o *object, u, v float32, x, y int) rgb {
	switch o.tex {
	case texHStripes:
		if frac((v+1)*2.5) < 0.5 {
			return o.c2
		}
	case texVStripes:
		if frac((u+1)*2) < 0.5 {
			return o.c2
		}
	case texDots:
		fu, fv := frac((u+1)*3)-0.5, frac((v+1)*3)-0.5
		if fu*fu+fv*fv < 0.06 {
			return o.c2
		}
	case texWindows, texLitWindows:
		cu, cv := (u+1)*2.2, (v+1)*5
		fu, fv := frac(cu), frac(cv)
		if fu > 0.25 && fu < 0.75 && fv > 0.3 && fv < 0.75 {
			if o.tex == texWindows || hash(int(cu), int(cv), o.salt)&3 != 0 {
				return o.c2
			}
		}
	case texSpeckle:
		if hash(x, y, o.salt)%3 == 0 {
			return o.c2
		}
	case texChecker:
		if (int(math.Floor(float64(u*3)))+int(math.Floor(float64(v*3))))&1 == 0 {
			return o.c2
		}
	}
	return o.c1
}

// groundPixel textures the ground colour col at (fx, t), where t is 0 on
// the horizon and 1 at the bottom and z grows towards the horizon, so every
// texture shows perspective: finer far away, coarser near.
func groundPixel(g groundKind, col rgb, fx, t, z float32, h uint32) rgb {
	n := float32(h&255)/255 - 0.5
	switch g {
	case grGrass:
		return scale(col, 1+0.45*n)
	case grLeaves:
		if h&0x300 == 0 {
			return scale(rgb{200, 60, 30}, 0.6+0.4*t)
		}
		return scale(col, 1+0.5*n)
	case grDark:
		return scale(col, 1+0.3*n)
	case grSnow:
		return scale(col, 1+0.12*n)
	case grSand:
		return scale(col, 1+0.09*tri(z*1.5)+0.12*n)
	case grWater:
		w := tri(z*2 + 0.35*tri(fx*5))
		if w > 0.6 {
			return add(col, 45*(1-t)+10)
		}
		return scale(col, 1+0.1*n)
	case grAsphalt:
		if d := fx - 0.5; d < 0.01+0.05*t && -d < 0.01+0.05*t && frac(z*0.8) < 0.5 {
			return rgb{225, 220, 190}
		}
		return scale(col, 1+0.15*n)
	case grField:
		if frac((fx-0.5)/(t+0.15)*3) < 0.3 {
			return scale(col, 0.72)
		}
		return scale(col, 1+0.15*n)
	case grStone:
		if frac(z*1.2) < 0.12 || frac((fx-0.5)/(t+0.15)*2.5) < 0.08 {
			return scale(col, 0.7)
		}
		return scale(col, 1+0.1*n)
	}
	return col
}

// shapePart says which part of a shape covers local (u, v) in [-1, 1]^2,
// v = -1 at the top: 0 none, 1 main (textured), 2 secondary, 3 detail.
// Shapes stand on their bottom edge, so none is symmetric under rotation.
func shapePart(s shapeKind, u, v float32) uint8 {
	return shapeParts[s](u, v)
}

// shapeParts holds one function per shape kind, each a silhouette in the
// terms of shapePart: one short function per shape reads better, and is
// easier to change alone, than one switch over all of them.
var shapeParts = [...]func(u, v float32) uint8{
	shBuilding:   boxPart,
	shBox:        boxPart,
	shDisc:       discPart,
	shSun:        discPart,
	shTriangle:   trianglePart,
	shDiamond:    diamondPart,
	shParasol:    parasolPart,
	shConifer:    coniferPart,
	shFlower:     flowerPart,
	shMountain:   mountainPart,
	shCar:        carPart,
	shSnowman:    snowmanPart,
	shSailboat:   sailboatPart,
	shCactus:     cactusPart,
	shBird:       birdPart,
	shCastle:     castlePart,
	shArch:       archPart,
	shBalloon:    balloonPart,
	shLighthouse: lighthousePart,
	shCrescent:   crescentPart,
	shTent:       tentPart,
	shChurch:     churchPart,
	shBarn:       barnPart,
	shPyramid:    pyramidPart,
	shWindmill:   windmillPart,
	shWheel:      wheelPart,
	shPalm:       palmPart,
	shSheep:      sheepPart,
	shKite:       kitePart,
	shRainbow:    rainbowPart,
	shBus:        busPart,
	shRoundTree:  roundTreePart,
	shBurst:      burstPart,
	shShip:       shipPart,
	shPerson:     figurePart,
	shStatue:     statuePart,
}

// boxPart is the silhouette of shBuilding, shBox (see shapeParts).
func boxPart(_, _ float32) uint8 {
	return 1
}

// discPart is the silhouette of shDisc, shSun (see shapeParts).
func discPart(u, v float32) uint8 {
	if u*u+v*v <= 1 {
		return 1
	}
	return 0
}

// trianglePart is the silhouette of shTriangle (see shapeParts).
func trianglePart(u, v float32) uint8 {
	au := abs(u)
	if au <= (v+1)/2 {
		return 1
	}
	return 0
}

// diamondPart is the silhouette of shDiamond (see shapeParts).
func diamondPart(u, v float32) uint8 {
	au := abs(u)
	if au+abs(v) <= 1 {
		return 1
	}
	return 0
}

// parasolPart is the silhouette of shParasol (see shapeParts).
func parasolPart(u, v float32) uint8 {
	au := abs(u)
	if v <= -0.2 {
		dv := (v + 0.2) / 0.8
		if u*u+dv*dv <= 1 {
			return 1
		}
	} else if au < 0.07 {
		return 3
	}
	return 0
}

// coniferPart is the silhouette of shConifer (see shapeParts).
func coniferPart(u, v float32) uint8 {
	au := abs(u)
	if v < 0.6 {
		if au <= (v+1)*0.62 {
			return 1
		}
	} else if au < 0.16 {
		return 2
	}
	return 0
}

// flowerPart is the silhouette of shFlower (see shapeParts).
func flowerPart(u, v float32) uint8 {
	au := abs(u)
	dv := (v + 0.45) / 0.55
	if hr := u*u + dv*dv; hr < 0.12 {
		return 2
	} else if hr < 1 {
		return 1
	}
	if (au < 0.1 && v > 0) || (v > 0.4 && v < 0.6 && u > 0 && u < 0.5) {
		return 3
	}
	return 0
}

// mountainPart is the silhouette of shMountain (see shapeParts).
func mountainPart(u, v float32) uint8 {
	au := abs(u)
	if au <= (v+1)/2 {
		if v < -0.5+0.15*tri(u*3) {
			return 2
		}
		return 1
	}
	return 0
}

// carPart is the silhouette of shCar (see shapeParts).
func carPart(u, v float32) uint8 {
	au := abs(u)
	du, dv := (au-0.55)/0.21, (v-0.6)/0.4
	if du*du+dv*dv <= 1 {
		return 3
	}
	if v >= -0.15 && v <= 0.6 {
		return 1
	}
	if v >= -0.75 && v < -0.15 && abs(u+0.05) <= 0.5+(v+0.15)*0.3 {
		return 2
	}
	return 0
}

// snowmanPart is the silhouette of shSnowman (see shapeParts).
func snowmanPart(u, v float32) uint8 {
	au := abs(u)
	dv := (v - 0.45) / 0.55
	if u*u+dv*dv <= 1 {
		return 1
	}
	if v > -0.4 && v < -0.3 && u > 0 && u < 0.5 {
		return 2
	}
	if v < -0.72 && au < 0.45 || v >= -0.72 && v < -0.68 && au < 0.65 {
		return 3
	}
	du, dv := u/0.7, (v+0.35)/0.4
	if du*du+dv*dv <= 1 {
		return 1
	}
	return 0
}

// sailboatPart is the silhouette of shSailboat (see shapeParts).
func sailboatPart(u, v float32) uint8 {
	au := abs(u)
	if v > 0.6 {
		if au <= 1-(v-0.6)*1.2 {
			return 2
		}
	} else if abs(u+0.1) < 0.05 {
		return 3
	} else if v <= 0.55 && u > -0.05 && u <= -0.05+0.85*(v+1)/1.55 {
		return 1
	} else if v <= 0.5 && v > -0.8 && u < -0.15 && -u-0.15 <= 0.5*(v+0.8)/1.3 {
		return 1
	}
	return 0
}

// cactusPart is the silhouette of shCactus (see shapeParts).
func cactusPart(u, v float32) uint8 {
	au := abs(u)
	if au < 0.2 && v > -0.95 {
		if au < 0.04 {
			return 2
		}
		return 1
	}
	if (u >= -0.75 && u <= -0.5 && v >= -0.6 && v <= 0.1) || (u >= -0.75 && u <= -0.2 && v >= -0.05 && v <= 0.1) ||
		(u >= 0.5 && u <= 0.75 && v >= -0.8 && v <= -0.1) || (u >= 0.2 && u <= 0.75 && v >= -0.25 && v <= -0.1) {
		return 1
	}
	return 0
}

// birdPart is the silhouette of shBird (see shapeParts).
func birdPart(u, v float32) uint8 {
	au := abs(u)
	if abs(v-(0.4-0.9*au)) < 0.3 {
		return 1
	}
	return 0
}

// castlePart is the silhouette of shCastle (see shapeParts).
func castlePart(u, v float32) uint8 {
	au := abs(u)
	if v > -0.45 {
		if au < 0.18 && v > 0.35 || v > -0.2 && v < 0 && abs(au-0.45) < 0.08 {
			return 3
		}
		if au > 0.75 {
			return 2
		}
		return 1
	}
	if au > 0.75 && (v > -0.8 || frac((u+1)*5) < 0.5) {
		return 2
	}
	if v > -0.75 && frac((u+1)*2.5) < 0.5 {
		return 1
	}
	return 0
}

// archPart is the silhouette of shArch (see shapeParts).
func archPart(u, v float32) uint8 {
	if v >= -0.7 && v < -0.45 {
		return 2
	}
	if v < -0.7 {
		if frac((u+1)*4) < 0.15 {
			return 2
		}
		return 0
	}
	k := (frac((u+1)*1.5) - 0.5) * 2
	dv := v - 1
	if k*k+dv*dv < 0.7 {
		return 0
	}
	return 1
}

// balloonPart is the silhouette of shBalloon (see shapeParts).
func balloonPart(u, v float32) uint8 {
	au := abs(u)
	dv := (v + 0.25) / 0.75
	if u*u+dv*dv <= 1 {
		return 1
	}
	if v > 0.5 && v <= 0.78 && abs(au-0.3) < 0.06 || v > 0.78 && au < 0.3 {
		return 3
	}
	return 0
}

// lighthousePart is the silhouette of shLighthouse (see shapeParts).
func lighthousePart(u, v float32) uint8 {
	au := abs(u)
	if v < -0.88 {
		if au <= 0.4*(v+1)/0.12 {
			return 2
		}
	} else if v < -0.7 {
		if au < 0.32 {
			return 3
		}
	} else if au <= 0.45+0.35*(v+0.7)/1.7 {
		return 1
	}
	return 0
}

// crescentPart is the silhouette of shCrescent (see shapeParts).
func crescentPart(u, v float32) uint8 {
	if u*u+v*v <= 1 {
		du, dv := u-0.45, v+0.2
		if du*du+dv*dv > 0.7 {
			return 1
		}
	}
	return 0
}

// tentPart is the silhouette of shTent (see shapeParts).
func tentPart(u, v float32) uint8 {
	au := abs(u)
	if au <= (v+1)/2 {
		if au <= (v+1)*0.15 && v > -0.2 {
			return 3
		}
		if u > 0 {
			return 2
		}
		return 1
	}
	return 0
}

// churchPart is the silhouette of shChurch (see shapeParts).
func churchPart(u, v float32) uint8 {
	au := abs(u)
	if au < 0.16 && v >= -0.75 && v < -0.25 {
		return 1
	}
	if v < -0.75 && au <= 0.16*(v+1)/0.25 {
		return 2
	}
	if v >= -0.3 && v < 0 && au <= 0.9*(v+0.3)/0.3 {
		return 2
	}
	if v >= 0 && au < 0.85 {
		if au < 0.14 && v > 0.55 || au < 0.1 && v > 0.15 && v < 0.35 {
			return 3
		}
		return 1
	}
	return 0
}

// barnPart is the silhouette of shBarn (see shapeParts).
func barnPart(u, v float32) uint8 {
	au := abs(u)
	if v < -0.2 {
		if au <= 1.1*(v+1)/0.8 {
			return 2
		}
	} else if au <= 0.9 {
		if au < 0.35 && v > 0.2 {
			if au < 0.04 || abs(au-0.32) < 0.03 || abs(v-0.25) < 0.05 || abs(au-(v-0.2)*0.35/0.8) < 0.05 {
				return 3
			}
			return 2
		}
		return 1
	}
	return 0
}

// pyramidPart is the silhouette of shPyramid (see shapeParts).
func pyramidPart(u, v float32) uint8 {
	au := abs(u)
	step := float32(math.Floor(float64((v+1)*4))) / 4
	if au <= (step+0.25)/2 {
		if u > 0 {
			return 2
		}
		return 1
	}
	return 0
}

// windmillPart is the silhouette of shWindmill (see shapeParts).
func windmillPart(u, v float32) uint8 {
	au := abs(u)
	a, b := u*0.8, v+0.45
	if r2 := a*a + b*b; r2 < 0.012 {
		return 3
	} else if r2 < 0.5 && (abs(a-b) < 0.09 || abs(a+b) < 0.09) {
		return 2
	}
	if v > -0.45 && au <= 0.22+0.18*(v+0.45)/1.45 {
		if au < 0.08 && v > 0.75 {
			return 3
		}
		return 1
	}
	return 0
}

// wheelPart is the silhouette of shWheel (see shapeParts).
func wheelPart(u, v float32) uint8 {
	au := abs(u)
	b := v + 0.1
	r2 := u*u + b*b
	if r2 >= 0.66 && r2 <= 0.81 {
		return 1
	}
	if r2 < 0.66 && (au < 0.04 || abs(b) < 0.04 || abs(u-b) < 0.06 || abs(u+b) < 0.06) {
		return 2
	}
	if v > -0.1 && abs(au-(v+0.1)*0.55) < 0.07 {
		return 3
	}
	return 0
}

// palmPart is the silhouette of shPalm (see shapeParts).
func palmPart(u, v float32) uint8 {
	a, b := u-0.3, v+0.6
	if abs(b-(0.7*a*a-0.15)) < 0.12 && abs(a) < 0.85 || abs(a+b*0.3) < 0.08 && b > -0.4 && b < 0 {
		return 1
	}
	w := (1 - v) / 1.6
	if v > -0.55 && abs(u-0.3*w*w) < 0.09 {
		return 2
	}
	return 0
}

// sheepPart is the silhouette of shSheep (see shapeParts).
func sheepPart(u, v float32) uint8 {
	hu, hv := (u-0.78)/0.22, (v+0.05)/0.35
	if hu*hu+hv*hv <= 1 || v > 0.45 && (abs(u-0.4) < 0.08 || abs(u+0.45) < 0.08) {
		return 3
	}
	bu, bv := u/0.72, v/0.5
	if bu*bu+bv*bv <= 1 {
		return 1
	}
	return 0
}

// kitePart is the silhouette of shKite (see shapeParts).
func kitePart(u, v float32) uint8 {
	au := abs(u)
	if au/0.9+abs(v+0.2)/0.8 <= 1 {
		if u*(v+0.2) > 0 {
			return 2
		}
		return 1
	}
	if v > 0.6 && abs(u-0.15*tri(v*3)) < 0.06 {
		return 3
	}
	return 0
}

// rainbowPart is the silhouette of shRainbow (see shapeParts).
func rainbowPart(u, v float32) uint8 {
	dv := (v - 1) / 2
	switch r2 := u*u + dv*dv; {
	case r2 > 1:
	case r2 > 0.85:
		return 1
	case r2 > 0.7:
		return 2
	case r2 > 0.55:
		return 3
	}
	return 0
}

// busPart is the silhouette of shBus (see shapeParts).
func busPart(u, v float32) uint8 {
	au := abs(u)
	du, dv := (au-0.65)/0.13, (v-0.8)/0.3
	if du*du+dv*dv <= 1 {
		return 3
	}
	if v > -0.9 && v < 0.8 {
		if v > -0.6 && v < -0.1 && au < 0.92 && frac((u+1)*3.5) < 0.7 {
			return 2
		}
		return 1
	}
	return 0
}

// roundTreePart is the silhouette of shRoundTree (see shapeParts).
func roundTreePart(u, v float32) uint8 {
	au := abs(u)
	dv := (v + 0.3) / 0.7
	if u*u+dv*dv <= 1 {
		return 1
	}
	if au < 0.13 && v > 0.2 {
		return 3
	}
	return 0
}

// burstPart is the silhouette of shBurst (see shapeParts).
func burstPart(u, v float32) uint8 {
	au := abs(u)
	r2 := u*u + v*v
	if r2 < 0.03 {
		return 2
	}
	if r2 < 1 && r2 > 0.06 && (au < 0.07 || abs(v) < 0.07 || abs(u-v) < 0.09 || abs(u+v) < 0.09) {
		return 1
	}
	return 0
}

// shipPart is the silhouette of shShip (see shapeParts).
func shipPart(u, v float32) uint8 {
	au := abs(u)
	if v > 0.25 {
		if au <= 1-(v-0.25)*0.3 {
			if v > 0.8 {
				return 2
			}
			return 3
		}
	} else if v > -0.35 && u > -0.65 && u < 0.45 {
		if abs(v+0.05) < 0.1 && frac((u+1)*5) < 0.4 {
			return 3
		}
		return 1
	} else if v > -0.9 && v <= -0.35 && au < 0.15 {
		return 2
	}
	return 0
}

// figurePart is the silhouette of shPerson (see shapeParts).
func figurePart(u, v float32) uint8 {
	au := abs(u)
	return personPart(au, v, 2)
}

// statuePart is the silhouette of shStatue (see shapeParts).
func statuePart(u, v float32) uint8 {
	au := abs(u)
	if v > 0.45 {
		if au < 0.9 {
			return 2
		}
		return 0
	}
	vv := (v+1)/1.45*2 - 1
	if u > 0.3 && u < 0.48 && vv > -1 && vv < -0.2 {
		return 1
	}
	if personPart(au, vv, 1) != 0 {
		return 1
	}
	return 0
}

// personPart is a standing figure: head (part head), body, legs.
func personPart(au, v float32, head uint8) uint8 {
	hu, hv := au/0.42, (v+0.78)/0.2
	if hu*hu+hv*hv <= 1 {
		return head
	}
	if v >= -0.58 && v <= 0.3 && au <= 0.6 {
		return 1
	}
	if v > 0.3 && abs(au-0.3) < 0.18 {
		return 3
	}
	return 0
}

// hash is a cheap integer hash for per-pixel texture noise.
func hash(x, y int, salt uint32) uint32 {
	h := uint32(x)*0x9E3779B1 ^ uint32(y)*0x85EBCA77 ^ salt
	h ^= h >> 15
	h *= 0x2C1B3C6D
	h ^= h >> 12
	h *= 0x297A2D39
	h ^= h >> 15
	return h
}

func jitter(c rgb, r *rng, amp float32) rgb {
	shift := r.rangef(-amp, amp)
	return rgb{
		c[0] + shift + r.rangef(-amp, amp)*0.5,
		c[1] + shift + r.rangef(-amp, amp)*0.5,
		c[2] + shift + r.rangef(-amp, amp)*0.5,
	}
}

func lerp(a, b rgb, t float32) rgb {
	return rgb{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t, a[2] + (b[2]-a[2])*t}
}

func scale(c rgb, f float32) rgb { return rgb{c[0] * f, c[1] * f, c[2] * f} }

func add(c rgb, d float32) rgb { return rgb{c[0] + d, c[1] + d, c[2] + d} }

// hsv converts hue, saturation, value in [0, 1] to a colour.
func hsv(h, s, v float32) rgb {
	h = frac(h) * 6
	i := int(h)
	f := h - float32(i)
	p, q, t := v*(1-s), v*(1-s*f), v*(1-s*(1-f))
	var c rgb
	switch i {
	case 0:
		c = rgb{v, t, p}
	case 1:
		c = rgb{q, v, p}
	case 2:
		c = rgb{p, v, t}
	case 3:
		c = rgb{p, q, v}
	case 4:
		c = rgb{t, p, v}
	default:
		c = rgb{v, p, q}
	}
	return scale(c, 255)
}

func put(row []byte, x int, c rgb) {
	row[3*x], row[3*x+1], row[3*x+2] = clamp8(c[0]), clamp8(c[1]), clamp8(c[2])
}

func clamp8(v float32) byte {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return byte(v + 0.5)
}

func clampInt(v, n int) int {
	switch {
	case v < 0:
		return 0
	case v > n:
		return n
	}
	return v
}

func abs(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// frac is the fractional part, in [0, 1) also for negative x.
func frac(x float32) float32 { return x - float32(math.Floor(float64(x))) }

// tri is a triangle wave of period 1 in [-1, 1], a cheap sine.
func tri(x float32) float32 { return abs(frac(x)-0.5)*4 - 1 }

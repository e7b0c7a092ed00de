package ui

import "math"

// Squarify lays values out inside bounds as a squarified treemap (Bruls,
// Huizing and van Wijk): each value gets a rectangle of area proportional to
// it, rows are grown while that keeps their cells closer to squares. Values
// are placed in the order given, which is what lets a caller keep clusters
// where they were between versions: pass them in a stable order. Zero,
// negative and NaN values get an empty rectangle at the bounds' corner. The
// result is appended to out[:0].
func Squarify(values []float64, bounds Rect, out []Rect) []Rect {
	out = out[:0]
	for range values {
		out = append(out, Rect{X: bounds.X, Y: bounds.Y})
	}
	total := 0.0
	for _, v := range values {
		if v > 0 {
			total += v
		}
	}
	bw, bh := float64(bounds.W), float64(bounds.H)
	if total <= 0 || bw <= 0 || bh <= 0 {
		return out
	}
	scale := bw * bh / total
	lastPos := lastPositive(values, 0, len(values))
	x, y, w, h := float64(bounds.X), float64(bounds.Y), bw, bh
	i := 0
	for i < len(values) {
		for i < len(values) && !(values[i] > 0) {
			i++
		}
		if i >= len(values) {
			break
		}
		side := math.Min(w, h)
		s2 := side * side
		rowSum, rowMin, rowMax := 0.0, math.Inf(1), 0.0
		worst := math.Inf(1)
		j := i
		for ; j < len(values); j++ {
			v := values[j]
			if !(v > 0) {
				continue
			}
			a := v * scale
			sum, mn, mx := rowSum+a, math.Min(rowMin, a), math.Max(rowMax, a)
			ss := sum * sum
			r := math.Max(s2*mx/ss, ss/(s2*mn))
			if rowSum > 0 && r > worst {
				break
			}
			worst, rowSum, rowMin, rowMax = r, sum, mn, mx
		}
		// Lay out [i, j) along the shorter side; the row's thickness is
		// rowSum/side. The last cell ends exactly at the far edge so that
		// rounding never leaves a gap or an overlap.
		if w >= h {
			cw := rowSum / h
			if j > lastPos {
				cw = w
			}
			cy := y
			last := lastPositive(values, i, j)
			for k := i; k < j; k++ {
				if !(values[k] > 0) {
					out[k] = Rect{X: float32(x), Y: float32(cy)}
					continue
				}
				ch := values[k] * scale / cw
				if k == last {
					ch = y + h - cy
				}
				out[k] = R(x, cy, cw, ch)
				cy += ch
			}
			x += cw
			w -= cw
		} else {
			ch := rowSum / w
			if j > lastPos {
				ch = h
			}
			cx := x
			last := lastPositive(values, i, j)
			for k := i; k < j; k++ {
				if !(values[k] > 0) {
					out[k] = Rect{X: float32(cx), Y: float32(y)}
					continue
				}
				cw := values[k] * scale / ch
				if k == last {
					cw = x + w - cx
				}
				out[k] = R(cx, y, cw, ch)
				cx += cw
			}
			y += ch
			h -= ch
		}
		if w < 0 {
			w = 0
		}
		if h < 0 {
			h = 0
		}
		i = j
	}
	return out
}

func lastPositive(vs []float64, i, j int) int {
	for k := j - 1; k >= i; k-- {
		if vs[k] > 0 {
			return k
		}
	}
	return -1
}

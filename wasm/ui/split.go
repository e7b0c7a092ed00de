package ui

// SplitLayout lays values out inside bounds by ordered binary splitting: the
// sequence is cut where the two halves' sums are closest, the rectangle is
// cut across its longer side in that proportion, and both halves recurse.
// Unlike squarify, a small change of one value moves borders a little
// instead of re-flowing whole rows, so clusters that persist between
// versions stay near where they were. Areas and order are kept as in
// Squarify; zero values get empty rectangles.
func SplitLayout(values []float64, bounds Rect, out []Rect) []Rect {
	out = out[:0]
	for range values {
		out = append(out, Rect{X: bounds.X, Y: bounds.Y})
	}
	prefix := make([]float64, len(values)+1)
	for i, v := range values {
		if !(v > 0) {
			v = 0
		}
		prefix[i+1] = prefix[i] + v
	}
	splitRec(values, prefix, 0, len(values), float64(bounds.X), float64(bounds.Y), float64(bounds.W), float64(bounds.H), out)
	return out
}

func splitRec(values, prefix []float64, lo, hi int, x, y, w, h float64, out []Rect) {
	total := prefix[hi] - prefix[lo]
	if total <= 0 || w <= 0 || h <= 0 {
		return
	}
	// Drop zero values at both ends so every piece has positive weight.
	for lo < hi && !(values[lo] > 0) {
		out[lo] = R(x, y, 0, 0)
		lo++
	}
	for hi > lo && !(values[hi-1] > 0) {
		out[hi-1] = R(x, y, 0, 0)
		hi--
	}
	if hi-lo == 1 {
		out[lo] = R(x, y, w, h)
		return
	}
	// The cut closest to half the weight (binary search on the prefix sums).
	half := prefix[lo] + total/2
	a, b := lo+1, hi-1
	for a < b {
		m := (a + b) / 2
		if prefix[m] < half {
			a = m + 1
		} else {
			b = m
		}
	}
	k := a
	if k > lo+1 && half-prefix[k-1] < prefix[k]-half {
		k--
	}
	f := (prefix[k] - prefix[lo]) / total
	if w >= h {
		lw := w * f
		splitRec(values, prefix, lo, k, x, y, lw, h, out)
		splitRec(values, prefix, k, hi, x+lw, y, w-lw, h, out)
	} else {
		lh := h * f
		splitRec(values, prefix, lo, k, x, y, w, lh, out)
		splitRec(values, prefix, k, hi, x, y+lh, w, h-lh, out)
	}
}

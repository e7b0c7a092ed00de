package ui

import "math"

// Series is one line of a chart. NaN values (a metric that does not apply,
// such as label NMI on unlabeled data) leave a gap.
type Series struct {
	Values []float64
	Color  Color
}

// ChartRange is the value range a chart was drawn with, for its labels.
type ChartRange struct{ Lo, Hi float64 }

// LineChart draws the series over the whole canvas: x is the sample index
// (all series share it, aligned left), y spans the finite values of all
// series, or [fixedLo, fixedHi] when fixedHi > fixedLo (precision and NMI
// live in [0, 1]). Lines are anti-aliased along their minor axis.
func (c *Canvas) LineChart(series []Series, fixedLo, fixedHi float64) ChartRange {
	c.Clear(Color{30, 33, 40, 255})
	grid := Color{52, 56, 66, 255}
	for k := 1; k < 4; k++ {
		y := k * c.H / 4
		c.FillRect(0, y, c.W, y+1, grid)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	n := 0
	for _, s := range series {
		n = max(n, len(s.Values))
		for _, v := range s.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if fixedHi > fixedLo {
		lo, hi = fixedLo, fixedHi
	}
	if math.IsInf(lo, 0) {
		return ChartRange{math.NaN(), math.NaN()}
	}
	if hi-lo < 1e-12 {
		lo, hi = lo-0.5, hi+0.5
	}
	pad := 2.0
	fx := func(i int) float64 {
		if n <= 1 {
			return float64(c.W) / 2
		}
		return pad + float64(i)*(float64(c.W)-1-2*pad)/float64(n-1)
	}
	fy := func(v float64) float64 {
		return pad + (hi-v)/(hi-lo)*(float64(c.H)-1-2*pad)
	}
	for _, s := range series {
		havePrev := false
		var px, py float64
		for i, v := range s.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				havePrev = false
				continue
			}
			x, y := fx(i), fy(v)
			if havePrev {
				c.Line(px, py, x, y, s.Color)
			} else {
				c.Blend(int(math.Round(x)), int(math.Round(y)), s.Color, 1)
			}
			px, py, havePrev = x, y, true
		}
	}
	return ChartRange{lo, hi}
}

// Line draws an anti-aliased line about 1.5 pixels wide (Xiaolin Wu style:
// two pixels across the minor axis with complementary coverage).
func (c *Canvas) Line(x0, y0, x1, y1 float64, col Color) {
	dx, dy := x1-x0, y1-y0
	steep := math.Abs(dy) > math.Abs(dx)
	if steep {
		x0, y0, x1, y1 = y0, x0, y1, x1
		dx, dy = dy, dx
	}
	if x1 < x0 {
		x0, y0, x1, y1 = x1, y1, x0, y0
	}
	grad := 0.0
	if dx != 0 {
		grad = dy / dx
	}
	plot := func(x, y int, a float64) {
		if steep {
			c.Blend(y, x, col, a)
		} else {
			c.Blend(x, y, col, a)
		}
	}
	for x := int(math.Round(x0)); x <= int(math.Round(x1)); x++ {
		y := y0 + grad*(float64(x)-x0)
		fy := math.Floor(y)
		f := y - fy
		plot(x, int(fy), 1-f*0.5)
		plot(x, int(fy)+1, 0.5+f*0.5)
	}
}

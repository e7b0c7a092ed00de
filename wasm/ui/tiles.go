package ui

import "math"

// PointTiles orders the points of a 2D map for drawing: by tile of a
// coarse Side x Side grid over the map's bounds, and inside each tile the
// lit points (selected cluster, search hits) first, then the rest, each in
// a given order (a fixed random one: any prefix of a tile is then an even
// sample of it). A frame draws, of each tile on screen, a prefix (Plan):
// all of it when the budget allows, else the same share of every tile, so
// a zoomed-out map of a million points costs what its budget says while
// looking like the whole, and never loses a lit point.
type PointTiles struct {
	Side                     int
	minX, minY, tileW, tileH float64
	// Order is the drawing order (image ids); tile t holds
	// Order[Start[t]:Start[t+1]], its first Lit[t] lit.
	Order []int32
	Start []int32
	Lit   []int32
}

// NewPointTiles orders the points (xs[i], ys[i]) visiting them in the
// order given (nil: by id); lit reports whether point i is lit.
func NewPointTiles(xs, ys []float32, side int, order []int32, lit func(i int32) bool) *PointTiles {
	n := min(len(xs), len(ys))
	side = max(side, 1)
	t := &PointTiles{Side: side, Start: make([]int32, side*side+1), Lit: make([]int32, side*side)}
	minX, minY, maxX, maxY := 0.0, 0.0, 1.0, 1.0
	if n > 0 {
		minX, minY, maxX, maxY = float64(xs[0]), float64(ys[0]), float64(xs[0]), float64(ys[0])
		for i := range n {
			minX, maxX = math.Min(minX, float64(xs[i])), math.Max(maxX, float64(xs[i]))
			minY, maxY = math.Min(minY, float64(ys[i])), math.Max(maxY, float64(ys[i]))
		}
	}
	t.minX, t.minY = minX, minY
	t.tileW = math.Max(maxX-minX, 1e-9) / float64(side) * (1 + 1e-9)
	t.tileH = math.Max(maxY-minY, 1e-9) / float64(side) * (1 + 1e-9)
	tileOf := make([]int32, n)
	for i := range n {
		c := t.tileAt(float64(xs[i]), float64(ys[i]))
		tileOf[i] = int32(c)
		t.Start[c+1]++
		if lit(int32(i)) {
			t.Lit[c]++
		}
	}
	for c := 1; c < len(t.Start); c++ {
		t.Start[c] += t.Start[c-1]
	}
	t.Order = make([]int32, n)
	litFill := make([]int32, side*side)
	restFill := make([]int32, side*side)
	visit := func(id int32) {
		c := tileOf[id]
		if lit(id) {
			t.Order[t.Start[c]+litFill[c]] = id
			litFill[c]++
		} else {
			t.Order[t.Start[c]+t.Lit[c]+restFill[c]] = id
			restFill[c]++
		}
	}
	if order != nil {
		for _, id := range order {
			if int(id) < n {
				visit(id)
			}
		}
	} else {
		for i := range n {
			visit(int32(i))
		}
	}
	return t
}

func (t *PointTiles) tileXY(x, y float64) (int, int) {
	tx := int(math.Floor((x - t.minX) / t.tileW))
	ty := int(math.Floor((y - t.minY) / t.tileH))
	return max(0, min(t.Side-1, tx)), max(0, min(t.Side-1, ty))
}

func (t *PointTiles) tileAt(x, y float64) int {
	tx, ty := t.tileXY(x, y)
	return ty*t.Side + tx
}

// Span is a range of the drawing order to draw: Count points from First.
type Span struct{ First, Count int32 }

// Plan returns the spans to draw for the world rectangle [x0,x1]x[y0,y1]
// within a budget of points: of every tile that meets the rectangle, all
// its points when their total fits the budget, else the same share of
// each (and at least its lit points). It returns the points drawn; spans
// is reused.
func (t *PointTiles) Plan(x0, y0, x1, y1 float64, budget int, spans []Span) ([]Span, int) {
	spans = spans[:0]
	tx0, ty0 := t.tileXY(x0, y0)
	tx1, ty1 := t.tileXY(x1, y1)
	// Outside the map altogether: nothing on screen.
	if x1 < t.minX || y1 < t.minY || x0 > t.minX+t.tileW*float64(t.Side) || y0 > t.minY+t.tileH*float64(t.Side) {
		return spans, 0
	}
	visible := 0
	for ty := ty0; ty <= ty1; ty++ {
		for tx := tx0; tx <= tx1; tx++ {
			c := ty*t.Side + tx
			visible += int(t.Start[c+1] - t.Start[c])
		}
	}
	share := 1.0
	if visible > budget {
		share = float64(max(budget, 0)) / float64(visible)
	}
	drawn := 0
	for ty := ty0; ty <= ty1; ty++ {
		for tx := tx0; tx <= tx1; tx++ {
			c := ty*t.Side + tx
			size := t.Start[c+1] - t.Start[c]
			if size == 0 {
				continue
			}
			k := min(size, max(t.Lit[c], int32(math.Ceil(share*float64(size)))))
			if k == 0 {
				continue
			}
			// Tiles next to each other in a row are drawn in one call
			// when the first is drawn whole.
			if m := len(spans); m > 0 && spans[m-1].First+spans[m-1].Count == t.Start[c] && tx > tx0 &&
				spans[m-1].Count == t.Start[c]-t.Start[c-1] {
				spans[m-1].Count += k
			} else {
				spans = append(spans, Span{First: t.Start[c], Count: k})
			}
			drawn += int(k)
		}
	}
	return spans, drawn
}

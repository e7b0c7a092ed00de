package ui

import (
	"math"
	"slices"
)

// PointGrid buckets the points of a 2D map into a uniform grid, so that the
// map's hover, click and lasso look at the few cells under the pointer or
// the lasso instead of every point (a million on a large run).
type PointGrid struct {
	minX, minY float64
	cell       float64 // side of a cell, in world units
	nx, ny     int
	// The ids of the points of cell c are ids[start[c]:start[c+1]].
	start []int32
	ids   []int32
}

// NewPointGrid builds the grid of the points (xs[i], ys[i]) with about
// perCell points per cell on average (at least 1).
func NewPointGrid(xs, ys []float32, perCell int) *PointGrid {
	g := &PointGrid{}
	n := min(len(xs), len(ys))
	if n == 0 {
		g.nx, g.ny, g.cell = 1, 1, 1
		g.start = make([]int32, 2)
		return g
	}
	minX, minY, maxX, maxY := float64(xs[0]), float64(ys[0]), float64(xs[0]), float64(ys[0])
	for i := range n {
		x, y := float64(xs[i]), float64(ys[i])
		minX, maxX = math.Min(minX, x), math.Max(maxX, x)
		minY, maxY = math.Min(minY, y), math.Max(maxY, y)
	}
	w, h := math.Max(maxX-minX, 1e-9), math.Max(maxY-minY, 1e-9)
	cells := float64(n) / float64(max(perCell, 1))
	g.cell = math.Max(math.Sqrt(w*h/math.Max(cells, 1)), 1e-9)
	g.nx = min(int(w/g.cell)+1, 4096)
	g.ny = min(int(h/g.cell)+1, 4096)
	g.cell = math.Max(w/float64(g.nx), h/float64(g.ny)) * (1 + 1e-6)
	g.minX, g.minY = minX, minY
	g.start = make([]int32, g.nx*g.ny+1)
	cellOf := make([]int32, n)
	for i := range n {
		c := g.cellAt(float64(xs[i]), float64(ys[i]))
		cellOf[i] = int32(c)
		g.start[c+1]++
	}
	for c := 1; c < len(g.start); c++ {
		g.start[c] += g.start[c-1]
	}
	g.ids = make([]int32, n)
	fill := append([]int32(nil), g.start[:len(g.start)-1]...)
	for i, c := range cellOf {
		g.ids[fill[c]] = int32(i)
		fill[c]++
	}
	return g
}

func (g *PointGrid) cellXY(x, y float64) (int, int) {
	cx := int(math.Floor((x - g.minX) / g.cell))
	cy := int(math.Floor((y - g.minY) / g.cell))
	return max(0, min(g.nx-1, cx)), max(0, min(g.ny-1, cy))
}

func (g *PointGrid) cellAt(x, y float64) int {
	cx, cy := g.cellXY(x, y)
	return cy*g.nx + cx
}

// Nearest returns the point nearest to (x, y) within distance r (world
// units), or -1 when none is that close.
func (g *PointGrid) Nearest(xs, ys []float32, x, y, r float64) int32 {
	best, bestD := int32(-1), r*r
	x0, y0 := g.cellXY(x-r, y-r)
	x1, y1 := g.cellXY(x+r, y+r)
	for cy := y0; cy <= y1; cy++ {
		for cx := x0; cx <= x1; cx++ {
			c := cy*g.nx + cx
			for _, id := range g.ids[g.start[c]:g.start[c+1]] {
				dx, dy := float64(xs[id])-x, float64(ys[id])-y
				if d := dx*dx + dy*dy; d <= bestD && (best < 0 || d < bestD || id < best) {
					best, bestD = id, d
				}
			}
		}
	}
	return best
}

// InPolygon returns, in increasing order, the points inside the polygon
// whose vertices are (poly[0], poly[1]), (poly[2], poly[3]), ... (closed
// implicitly; even-odd rule). Fewer than three vertices select nothing.
func (g *PointGrid) InPolygon(xs, ys []float32, poly []float64) []int32 {
	if len(poly) < 6 {
		return nil
	}
	minX, minY, maxX, maxY := poly[0], poly[1], poly[0], poly[1]
	for i := 0; i+1 < len(poly); i += 2 {
		minX, maxX = math.Min(minX, poly[i]), math.Max(maxX, poly[i])
		minY, maxY = math.Min(minY, poly[i+1]), math.Max(maxY, poly[i+1])
	}
	x0, y0 := g.cellXY(minX, minY)
	x1, y1 := g.cellXY(maxX, maxY)
	var out []int32
	for cy := y0; cy <= y1; cy++ {
		for cx := x0; cx <= x1; cx++ {
			c := cy*g.nx + cx
			for _, id := range g.ids[g.start[c]:g.start[c+1]] {
				if PointInPolygon(float64(xs[id]), float64(ys[id]), poly) {
					out = append(out, id) // each point is in one cell only
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// Visible counts the points inside the world rectangle [x0,x1]x[y0,y1]
// and returns their ids (in grid order), stopping once it has found more
// than limit: n > limit then means "more than limit", and ids holds limit.
func (g *PointGrid) Visible(xs, ys []float32, x0, y0, x1, y1 float64, limit int) (n int, ids []int32) {
	cx0, cy0 := g.cellXY(x0, y0)
	cx1, cy1 := g.cellXY(x1, y1)
	for cy := cy0; cy <= cy1; cy++ {
		for cx := cx0; cx <= cx1; cx++ {
			c := cy*g.nx + cx
			for _, id := range g.ids[g.start[c]:g.start[c+1]] {
				x, y := float64(xs[id]), float64(ys[id])
				if x >= x0 && x <= x1 && y >= y0 && y <= y1 {
					n++
					if n > limit {
						return n, ids
					}
					ids = append(ids, id)
				}
			}
		}
	}
	return n, ids
}

// PointInPolygon reports whether (x, y) is inside the polygon of the
// vertices (poly[0], poly[1]), (poly[2], poly[3]), ... by the even-odd rule.
func PointInPolygon(x, y float64, poly []float64) bool {
	in := false
	n := len(poly) / 2
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		xi, yi, xj, yj := poly[2*i], poly[2*i+1], poly[2*j], poly[2*j+1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

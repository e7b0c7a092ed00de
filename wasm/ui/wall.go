package ui

import "math"

// Wall is a grid of square image tiles filling a cell on screen: the photo
// wall of a zoomed sub-cluster. Tile i sits at column i%Cols, row i/Cols.
type Wall struct {
	// X, Y is the screen position of the grid's top-left corner, Tile the
	// side of a tile in screen pixels.
	X, Y, Tile float64
	Cols, Rows int
	// N is the number of tiles shown: all the images when they fit at
	// MinTile or more, else as many as fit.
	N int
}

// LayoutWall fills the cell (x0, y0)-(x1, y1), in screen pixels and not
// clipped to the screen, with n tiles: the largest tiles, at most maxTile,
// with which all n fit; when even minTile is too large for all n, as many
// minTile tiles as the cell holds. The grid is centred in the cell. The
// layout depends on the cell's size only, so panning moves it with the
// cell and a tile keeps its image.
func LayoutWall(x0, y0, x1, y1 float64, n int, minTile, maxTile float64) Wall {
	w, h := x1-x0, y1-y0
	if n <= 0 || w < minTile || h < minTile || !(minTile > 0) {
		return Wall{}
	}
	s := bestTile(w, h, n)
	if s > maxTile {
		s = maxTile
	}
	count := n
	if s < minTile {
		s = minTile
		count = min(int(w/s)*int(h/s), n)
	}
	// A hair of slack: s = w/c must give c columns despite rounding.
	cols := max(1, int(w/s+1e-9))
	cols = min(cols, count)
	rows := (count + cols - 1) / cols
	return Wall{X: x0 + (w-float64(cols)*s)/2, Y: y0 + (h-float64(rows)*s)/2, Tile: s, Cols: cols, Rows: rows, N: count}
}

// bestTile is the largest side s with floor(w/s)*floor(h/s) >= n, that is
// the largest min(w/c, h/ceil(n/c)) over column counts c (or the same over
// row counts). The best grid is near square tiles, so only counts near
// sqrt(w*h/n) tiles a side are tried, in both directions.
func bestTile(w, h float64, n int) float64 {
	s0 := math.Sqrt(w * h / float64(n))
	best := 0.0
	try := func(long, short float64, k int) {
		if k < 1 {
			return
		}
		other := (n + k - 1) / k
		best = math.Max(best, math.Min(long/float64(k), short/float64(other)))
	}
	c0, r0 := int(w/s0), int(h/s0)
	for d := -2; d <= 3; d++ {
		try(w, h, c0+d)
		try(h, w, r0+d)
	}
	return best
}

// Visible returns the range of tile rows and columns that intersect the
// screen [0,sw) x [0,sh): rows r0..r1-1 and columns c0..c1-1 (tiles past N
// in the last row are not shown).
func (wl Wall) Visible(sw, sh float64) (r0, r1, c0, c1 int) {
	if wl.N == 0 || wl.Tile <= 0 {
		return 0, 0, 0, 0
	}
	clamp := func(v float64, hi int) int { return int(math.Max(0, math.Min(float64(hi), v))) }
	r0 = clamp(math.Floor(-wl.Y/wl.Tile), wl.Rows)
	r1 = clamp(math.Ceil((sh-wl.Y)/wl.Tile), wl.Rows)
	c0 = clamp(math.Floor(-wl.X/wl.Tile), wl.Cols)
	c1 = clamp(math.Ceil((sw-wl.X)/wl.Tile), wl.Cols)
	return r0, r1, c0, c1
}

// At returns the tile under the screen point (x, y), or -1.
func (wl Wall) At(x, y float64) int {
	if wl.N == 0 || x < wl.X || y < wl.Y {
		return -1
	}
	c, r := int((x-wl.X)/wl.Tile), int((y-wl.Y)/wl.Tile)
	if c >= wl.Cols || r >= wl.Rows {
		return -1
	}
	if i := r*wl.Cols + c; i < wl.N {
		return i
	}
	return -1
}

// Blit draws an RGB image of px x px pixels scaled (nearest neighbour) to
// the size x size square at (x0, y0), clipped to the canvas.
func (c *Canvas) Blit(x0, y0, size int, rgb []byte, px int) { c.BlitRot(x0, y0, size, rgb, px, 0) }

// BlitRot is Blit with the image turned rot quarter turns clockwise (a
// super-class cell shows its images as the model saw them).
func (c *Canvas) BlitRot(x0, y0, size int, rgb []byte, px, rot int) {
	c.BlitRotDim(x0, y0, size, rgb, px, rot, false)
}

// BlitRotDim is BlitRot, at half brightness with dim (the photos of a cell
// a search dims).
func (c *Canvas) BlitRotDim(x0, y0, size int, rgb []byte, px, rot int, dim bool) {
	if size <= 0 || px <= 0 || len(rgb) < px*px*3 {
		return
	}
	xa, ya := max(x0, 0), max(y0, 0)
	xb, yb := min(x0+size, c.W), min(y0+size, c.H)
	if xb <= xa || yb <= ya {
		return
	}
	rot &= 3
	last := px - 1
	for y := ya; y < yb; y++ {
		v := (y - y0) * px / size
		row := c.pix32[y*c.W+xa : y*c.W+xb]
		for i := range row {
			u := (xa + i - x0) * px / size
			sx, sy := u, v
			switch rot {
			case 1:
				sx, sy = v, last-u
			case 2:
				sx, sy = last-u, last-v
			case 3:
				sx, sy = last-v, u
			}
			o := (sy*px + sx) * 3
			v := uint32(rgb[o]) | uint32(rgb[o+1])<<8 | uint32(rgb[o+2])<<16
			if dim {
				v = v >> 1 & 0x7f7f7f
			}
			row[i] = v | 0xff<<24
		}
	}
}

// ThumbPx is the thumbnail side to ask for a tile of side tile on screen:
// the next of a few steps (so that near sizes share a cached copy), never
// more than res, the largest side the server has (a folder of photos keeps
// display copies far larger than its training images).
func ThumbPx(tile float64, res int) int {
	steps := []int{8, 12, 16, 24, 32, 48, 64, 96, 128, 160}
	for _, s := range steps {
		if float64(s) >= tile-0.5 {
			return min(s, res)
		}
	}
	return min(steps[len(steps)-1], res)
}

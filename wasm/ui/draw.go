package ui

// Style is what, besides the layout and the view, decides how the map looks.
type Style struct {
	// T is the eased progress of the current layout transition; 1 (or
	// more) is at rest. While T < 1 cells move from Node.From to Node.Rect.
	T float64
	// Highlight marks the sub-clusters that match a search, by sub id; nil
	// when no search is active. HighlightSuper marks super-clusters that
	// match or hold a match. Cells that do not match are dimmed, never hidden.
	Highlight      []bool
	HighlightSuper []bool
	// Hover and Selected are node indices to outline, or -1.
	Hover, Selected int32
	// MinBig is the screen size in pixels from which a cell is reported
	// to the caller (for text labels and thumbnails), at most MaxBig cells.
	MinBig float64
	MaxBig int
}

// Stats describes one drawn frame.
type Stats struct {
	// Drawn is the number of cells filled; Subs the sub-cluster cells
	// among them; Highlighted the matching sub-cluster cells drawn.
	Drawn, Subs, Highlighted int
	// Culled counts cells skipped because they were off screen, Tiny those
	// under one pixel (their parent's fill stands for them).
	Culled, Tiny int
}

// Big is a cell drawn large enough for a label or thumbnails, in screen
// pixels.
type Big struct {
	Node           int32
	X0, Y0, X1, Y1 float64
}

// White is the hover outline.
var White = Color{255, 255, 255, 255}

// Cyan is the selection outline.
var Cyan = Color{64, 224, 255, 255}

// Draw renders the treemap through the view into c and reports the large
// cells in big[:0]. It culls cells outside the screen and cells under one
// pixel, and at rest it skips whole subtrees of culled cells, so the cost
// follows what is visible rather than the number of clusters.
func Draw(c *Canvas, t *Treemap, v View, st *Style, big []Big) (Stats, []Big) {
	d := drawer{c: c, t: t, v: v, st: st, big: big[:0], anim: st.T < 1,
		w: float64(c.W), h: float64(c.H)}
	c.Clear(Background)
	if t == nil {
		return d.stats, d.big
	}
	for i := int32(0); i < t.Roots; i++ {
		d.node(i)
	}
	if st.Selected >= 0 && int(st.Selected) < len(t.Nodes) {
		d.outline(st.Selected, 2, Cyan)
	}
	if st.Hover >= 0 && int(st.Hover) < len(t.Nodes) {
		d.outline(st.Hover, 1, White)
	}
	return d.stats, d.big
}

type drawer struct {
	c     *Canvas
	t     *Treemap
	v     View
	st    *Style
	big   []Big
	anim  bool
	w, h  float64
	stats Stats
}

func (d *drawer) rect(i int32) Rect {
	n := &d.t.Nodes[i]
	if d.anim {
		return Lerp(n.From, n.Rect, d.st.T)
	}
	return n.Rect
}

func (d *drawer) highlighted(n *Node) (active, on bool) {
	if d.st.Highlight == nil {
		return false, false
	}
	if n.Level == LevelSub {
		return true, int(n.Sub) < len(d.st.Highlight) && d.st.Highlight[n.Sub]
	}
	return true, int(n.Super) < len(d.st.HighlightSuper) && d.st.HighlightSuper[n.Super]
}

// children draws the children of n. Small leaf cells entirely on screen,
// the bulk of a wide view, are stored right here without a call per cell:
// in wasm the call, not the pixels, is what costs.
func (d *drawer) children(n *Node) {
	nodes := d.t.Nodes[n.First : n.First+n.Count]
	if d.anim || d.st.Highlight != nil {
		for k := range nodes {
			d.node(n.First + int32(k))
		}
		return
	}
	s, vx, vy := d.v.Scale, d.v.X, d.v.Y
	cw, chh := d.c.W, d.c.H
	p := d.c.pix32
	for k := range nodes {
		c := &nodes[k]
		if c.Count == 0 {
			x0 := (float64(c.Rect.X) - vx) * s
			y0 := (float64(c.Rect.Y) - vy) * s
			x1 := x0 + float64(c.Rect.W)*s
			y1 := y0 + float64(c.Rect.H)*s
			if x0 >= 0 && y0 >= 0 && x1 <= float64(cw) && y1 <= float64(chh) && x1-x0 <= 16 && y1-y0 <= 16 && x1-x0 < d.st.MinBig {
				if x1-x0 < 1 || y1-y0 < 1 {
					d.stats.Tiny++
					continue
				}
				ix0, iy0 := int(x0+0.5), int(y0+0.5)
				w, h := int(x1+0.5)-ix0, int(y1+0.5)-iy0
				if w <= 0 || h <= 0 {
					d.stats.Tiny++
					continue
				}
				if w >= 4 && h >= 4 {
					w--
					h--
				}
				v := c.Color.packed()
				for y := iy0; y < iy0+h; y++ {
					row := p[y*cw+ix0 : y*cw+ix0+w]
					for j := range row {
						row[j] = v
					}
				}
				d.stats.Drawn++
				if c.Level == LevelSub {
					d.stats.Subs++
				}
				continue
			}
		}
		d.node(n.First + int32(k))
	}
}

func (d *drawer) node(i int32) {
	n := &d.t.Nodes[i]
	r := n.Rect
	if d.anim {
		r = Lerp(n.From, n.Rect, d.st.T)
	}
	s := d.v.Scale
	x0 := (float64(r.X) - d.v.X) * s
	y0 := (float64(r.Y) - d.v.Y) * s
	x1 := x0 + float64(r.W)*s
	y1 := y0 + float64(r.H)*s
	if x1 <= 0 || y1 <= 0 || x0 >= d.w || y0 >= d.h {
		d.stats.Culled++
		if d.anim {
			d.children(n)
		}
		return
	}
	ix0, iy0, ix1, iy1 := pix(x0, d.w), pix(y0, d.h), pix(x1, d.w), pix(y1, d.h)
	active, on := false, false
	if d.st.Highlight != nil {
		active, on = d.highlighted(n)
	}
	if x1-x0 < 1 || y1-y0 < 1 || ix1 <= ix0 || iy1 <= iy0 {
		d.stats.Tiny++
		if on {
			// A match stays findable at any zoom: a 2x2 mark.
			cx, cy := pix((x0+x1)/2, d.w), pix((y0+y1)/2, d.h)
			d.c.FillRect(cx-1, cy-1, cx+1, cy+1, Accent)
			if n.Level == LevelSub {
				d.stats.Highlighted++
			}
		}
		if d.anim {
			d.children(n)
		}
		return
	}
	col := n.Color
	if active && !on {
		col = col.Dim()
	}
	w, h := ix1-ix0, iy1-iy0
	if n.Count == 0 && !on && w <= 16 && h <= 16 && ix0 >= 0 && iy0 >= 0 && ix1 <= d.c.W && iy1 <= d.c.H {
		// The common case at wide zoom, a small leaf cell inside the
		// canvas: stored inline, no call, no clipping.
		if w >= 4 && h >= 4 {
			w--
			h--
		}
		v := col.packed()
		cw := d.c.W
		p := d.c.pix32
		for y := iy0; y < iy0+h; y++ {
			row := p[y*cw+ix0 : y*cw+ix0+w]
			for k := range row {
				row[k] = v
			}
		}
		d.stats.Drawn++
		if n.Level == LevelSub {
			d.stats.Subs++
		}
		if float64(ix1-ix0) >= d.st.MinBig && iy1-iy0 >= 14 && len(d.big) < d.st.MaxBig {
			d.big = append(d.big, Big{i, x0, y0, x1, y1})
		}
		return
	}
	switch {
	case n.Level == LevelSub && on && (w < 6 || h < 6):
		d.c.FillRect(ix0, iy0, ix1, iy1, Accent)
	case n.Level == LevelSub && w >= 4 && h >= 4:
		// Leave a one-pixel gap right and bottom: the parent's fill
		// shows through as the grid between siblings.
		d.c.FillRect(ix0, iy0, ix1-1, iy1-1, col)
	default:
		d.c.FillRect(ix0, iy0, ix1, iy1, col)
	}
	d.stats.Drawn++
	if n.Level == LevelSub {
		d.stats.Subs++
		if on {
			d.stats.Highlighted++
			if w >= 6 && h >= 6 {
				d.c.Outline(ix0, iy0, ix1-1, iy1-1, 2, Accent)
			}
		}
	}
	if float64(w) >= d.st.MinBig && h >= 14 && len(d.big) < d.st.MaxBig {
		d.big = append(d.big, Big{i, x0, y0, x1, y1})
	}
	if n.Count > 0 {
		d.children(n)
		if w >= 6 && h >= 6 {
			d.c.Outline(ix0, iy0, ix1, iy1, 1, Background)
		}
	}
}

// pix rounds a screen coordinate to a pixel edge, clamped so that huge zooms
// never overflow.
func pix(x, lim float64) int {
	if x < -2 {
		return -2
	}
	if x > lim+2 {
		x = lim + 2
	}
	return int(x + 0.5)
}

func (d *drawer) outline(i int32, width int, col Color) {
	x0, y0, x1, y1 := d.v.ToScreen(d.rect(i))
	ix0, iy0, ix1, iy1 := pix(x0, d.w), pix(y0, d.h), pix(x1, d.w), pix(y1, d.h)
	if ix1 <= ix0 {
		ix1 = ix0 + 1
	}
	if iy1 <= iy0 {
		iy1 = iy0 + 1
	}
	d.c.Outline(ix0-width, iy0-width, ix1+width, iy1+width, width, col)
}

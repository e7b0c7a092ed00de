//go:build js && wasm

package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall/js"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wasm/ui"
	"github.com/deepercluster/deepercluster/wire"
)

// The map view: every image a point at its position in the server's 2D
// layout (app.m.layout), coloured by its sub-cluster (the treemap's
// colours: its super-cluster's hue, shaded), drawn with WebGL as gl.POINTS
// from two buffers uploaded once per layout (positions) and once per
// change of colours (version, selection, search), the pan and zoom a
// uniform; so a frame costs one draw call whatever the number of points.
// Hover, click and the lasso use a spatial grid built in Go (ui.PointGrid).
// Without WebGL it draws the points with canvas 2D (slow past ~100,000).
const (
	// pointsThumbMax is the most points on screen for which thumbnails
	// replace the points; pointsThumbPx their side.
	pointsThumbMax = 150
	pointsThumbPx  = 48
	// pointsLabelMax is the most cluster names drawn at once.
	pointsLabelMax = 60
	// pointsTiles is the side of the grid of tiles that orders the points
	// for drawing (ui.PointTiles); pointsBudget the first budget of points
	// a moving frame draws, pointsMinBudget the least (see plan).
	pointsTiles     = 24
	pointsBudget    = 10_000
	pointsMinBudget = 4_000
	// pointsFastRun is how many fast frames in a row let the budget grow.
	pointsFastRun = 8
)

// pointsPanel is the map view: the WebGL canvas, an overlay canvas for
// names, thumbnails and the lasso, and the lasso's box in the side bar.
type pointsPanel struct {
	a *app

	el, ov js.Value // the points' canvas and the overlay above it
	ovCtx  js.Value
	gl     *glPoints // nil without WebGL
	ctx2d  js.Value  // the fallback's context, when gl is nil
	w, h   int

	// The layout on screen, its grid and bounds (world units).
	layout *deepercluster.Layout
	grid   *ui.PointGrid
	bounds ui.Rect
	view   ui.View
	fitted bool
	colors []byte // RGBA per point, by image id
	// shuffle is a fixed random order of the images; order the drawing
	// order (lit points first), as the WebGL buffers hold them.
	shuffle, order []int32
	tiles          *ui.PointTiles
	spans          []ui.Span
	// budget is how many points a frame draws while the view moves;
	// sampled is set when the last frame drew a sample (a still frame
	// then draws them all); prevTs the last frame's time.
	budget       float64
	fastRun      int // fast frames in a row (adapt)
	sampled      bool
	overlayClear bool // the overlay was cleared for a moving view
	prevTs       float64
	// Cluster centres and sizes on the map, for the names: computed once
	// per layout and version (centresOf says of which).
	cx, cy    []float64
	cnt       []int
	bySize    []int32 // sub-clusters, largest first
	centresOf [2]uint32
	textW     map[string]float64 // measured name widths
	hl        []bool             // search hits by sub-cluster; nil: no search
	hlQuery   string
	// needPos and needColors mark the buffers to upload before drawing.
	needPos, needColors, needCentres bool
	dirty                            bool

	// What the last frame drew: frames so far, points drawn (all, or the
	// sample of drawCount), lit points.
	frames, drawn, highlighted int
	lastMs                     float64
	labels                     []string
	thumbsShown                int

	// Thumbnails of the points on screen when zoomed in far enough.
	thumbs      map[int32]js.Value // ImageData, pointsThumbPx square
	thumbWant   []int32
	thumbAsking bool
	lastMove    float64

	// Pointer: drag pans, shift-drag draws the lasso.
	dragging, lassoing, moved bool
	downX, downY, lastX       float64
	lastY                     float64
	hover                     int32
	lasso                     []float64 // world coordinates, x y pairs
	sel                       []int32   // the lasso's images, sorted
	selMsg                    string
	exported                  string // the last export's body (for tests)
	exportSeq                 int
}

func newPointsPanel(a *app) *pointsPanel {
	p := &pointsPanel{a: a, hover: -1, thumbs: map[int32]js.Value{}, budget: pointsBudget}
	p.el = a.dom.byID("points")
	p.ov = a.dom.byID("pointsov")
	p.ovCtx = p.ov.Call("getContext", "2d")
	gl, err := newGLPoints(p.el)
	if err != nil {
		a.reportErr("map view", err.Error()+"; drawing with canvas 2D")
		// A canvas that gave a WebGL context gives no other: a fresh one.
		fresh := p.el.Call("cloneNode", false)
		p.el.Get("parentNode").Call("replaceChild", fresh, p.el)
		p.el = fresh
		p.ctx2d = p.el.Call("getContext", "2d", map[string]any{"alpha": false})
	}
	p.gl = gl
	p.bind()
	return p
}

func (p *pointsPanel) shown() bool { return p.a.m.view == viewMap }

func (p *pointsPanel) handle(ev event) {
	switch e := ev.(type) {
	case viewEvent:
		on := p.shown()
		for _, id := range []string{"points", "pointsov", "pointsmsg"} {
			p.a.dom.byID(id).Set("hidden", !on)
		}
		p.a.dom.byID("lassobox").Set("hidden", !on || len(p.sel) == 0)
		if on {
			p.resize()
			p.status()
		} else {
			p.a.dom.byID("tooltip").Set("hidden", true)
		}
		p.dirty = true
	case layoutEvent:
		p.setLayout()
	case layoutProgressEvent, runEvent:
		p.status()
	case versionEvent:
		if e.fresh {
			p.layout, p.grid, p.sel, p.lasso = nil, nil, nil, nil
		}
		p.needColors = true
		p.status()
	case highlightEvent:
		p.hl, p.hlQuery = e.subs, e.query
		p.needColors = true
	case selectEvent:
		p.needColors = true
	case notesEvent, summariesEvent:
		p.dirty = true
		p.showSelection()
	}
}

// status shows what the view waits for while there is no layout.
func (p *pointsPanel) status() {
	m := &p.a.m
	msg := ""
	switch {
	case m.layout == nil && m.layoutPending:
		msg = "laying out the map: " + m.layoutProgress.Stage + " " + pct(m.layoutProgress.Done)
	case m.layout == nil:
		msg = "the map appears once the server has laid out the images of a clustering"
	case m.layoutPending:
		msg = "next layout: " + m.layoutProgress.Stage + " " + pct(m.layoutProgress.Done)
	case !m.layout.Final:
		msg = "refining the layout…"
	}
	setText(p.a.dom.byID("pointsmsg"), msg)
}

// setLayout takes app.m.layout: the grid and the position buffer are
// rebuilt, and the view fitted on the first one.
func (p *pointsPanel) setLayout() {
	l := p.a.m.layout
	p.layout = l
	p.grid = ui.NewPointGrid(l.X, l.Y, 16)
	x0, y0, x1, y1 := l.Bounds()
	prev := p.bounds
	p.bounds = ui.R(float64(x0), float64(y0), float64(x1-x0), float64(y1-y0))
	// A layout in another frame (a new version's, not a refinement that
	// moves points a little) is shown whole.
	if !p.fitted || prev.Overlap(p.bounds) < 0.5*math.Max(prev.Area(), p.bounds.Area()) {
		p.fit()
	}
	p.needPos, p.needColors, p.needCentres = true, true, true
	if len(p.lasso) > 0 {
		p.sel = p.grid.InPolygon(l.X, l.Y, p.lasso)
		p.showSelection()
	}
	p.status()
}

func (p *pointsPanel) fit() {
	if p.layout == nil {
		return
	}
	p.view = ui.Fit(p.bounds, float64(p.w), float64(p.h), 24)
	p.fitted = p.w > 0
	p.dirty = true
}

func (p *pointsPanel) resize() {
	w := p.el.Get("clientWidth").Int()
	h := p.el.Get("clientHeight").Int()
	if w < 1 || h < 1 {
		return
	}
	if w == p.w && h == p.h {
		return
	}
	p.w, p.h = w, h
	for _, c := range []js.Value{p.el, p.ov} {
		c.Set("width", w)
		c.Set("height", h)
	}
	p.fit()
}

// pointColors fills the colour buffer: the sub-cluster's colour, or when a
// cluster is selected or a search runs, bright for those and dimmed for the
// rest (alpha 255 marks a lit point, drawn above the others).
func (p *pointsPanel) pointColors() {
	m := &p.a.m
	as := m.asg
	n := len(p.layout.X)
	if cap(p.colors) < 4*n {
		p.colors = make([]byte, 4*n)
	}
	p.colors = p.colors[:4*n]
	nsub := 0
	if as != nil {
		nsub = len(as.SubParent)
	}
	lit := make([]ui.Color, nsub)
	dim := make([]ui.Color, nsub)
	on := make([]bool, nsub)
	anyLit := m.selected >= 0 || p.hl != nil
	for z := range nsub {
		c := ui.ClusterColor(&m.stable, as.SubParent, int32(z))
		// Points are small: brighter than the treemap's cells.
		c = c.Mix(ui.White, 0.15)
		lit[z], dim[z] = c, c
		switch {
		case int32(z) == m.selected:
			lit[z], on[z] = c.Mix(ui.White, 0.55), true
		case p.hl != nil && z < len(p.hl) && p.hl[z]:
			lit[z], on[z] = c.Mix(ui.Accent, 0.6), true
		case anyLit:
			lit[z] = c.Dim()
		}
	}
	p.highlighted = 0
	for i := range n {
		c := ui.Color{R: 128, G: 128, B: 128, A: 254}
		if as != nil && i < len(as.Sub) {
			z := as.Sub[i]
			c = lit[z]
			c.A = 254
			if on[z] {
				c.A = 255
				p.highlighted++
			}
		}
		p.colors[4*i], p.colors[4*i+1], p.colors[4*i+2], p.colors[4*i+3] = c.R, c.G, c.B, c.A
	}
}

func (p *pointsPanel) tick(ts float64) {
	if !p.shown() || p.layout == nil {
		return
	}
	p.resize()
	p.upload()
	settled := ts-p.lastMove > thumbSettleMs
	if !p.dirty && !(p.thumbWant != nil && settled) && !(p.sampled && settled) {
		p.prevTs = 0
		return
	}
	if p.prevTs > 0 && p.sampled {
		p.adapt(ts - p.prevTs)
	}
	p.prevTs = ts
	p.render()
	if len(p.thumbWant) > 0 && ts-p.lastMove > thumbSettleMs {
		p.fetchThumbs()
	}
}

// upload recomputes the colours when they changed and hands WebGL the
// points in drawing order: the lit ones (selected cluster, search hits)
// first, then the rest in a fixed random order, so that drawing a prefix
// of the buffers (the level of detail of a zoomed-out view, see
// drawCount) is an even sample of the map that never leaves out a lit
// point.
func (p *pointsPanel) upload() {
	if !p.needColors && !p.needPos {
		return
	}
	if p.needColors {
		p.pointColors()
	}
	p.dirty = true
	if p.gl == nil {
		p.needPos, p.needColors = false, false
		return
	}
	n := len(p.layout.X)
	if len(p.shuffle) != n {
		p.shuffle = make([]int32, n)
		for i := range p.shuffle {
			p.shuffle[i] = int32(i)
		}
		rng := rand.New(rand.NewPCG(uint64(n), 18))
		rng.Shuffle(n, func(i, j int) { p.shuffle[i], p.shuffle[j] = p.shuffle[j], p.shuffle[i] })
	}
	colors := p.colors
	p.tiles = ui.NewPointTiles(p.layout.X, p.layout.Y, pointsTiles, p.shuffle, func(i int32) bool { return colors[4*i+3] == 255 })
	p.order = p.tiles.Order
	p.gl.positions(p.layout.X, p.layout.Y, p.order)
	p.gl.colours(p.colors, p.order)
	p.needPos, p.needColors = false, false
}

// plan chooses the points a frame draws (ui.PointTiles.Plan): those of the
// tiles on screen, all of them while the view is still, and while it moves
// no more than the budget, which adapts to the machine: it shrinks when
// frames come slower than 24 ms apart and grows when faster than 18 ms
// (a software rasteriser without a GPU draws a few million points a
// second; a GPU draws them all). It never leaves out a lit point.
func (p *pointsPanel) plan(moving bool) int {
	m := 2 * p.pointSize() / p.view.Scale
	x0, y0 := p.view.ToWorld(0, 0)
	x1, y1 := p.view.ToWorld(float64(p.w), float64(p.h))
	budget := len(p.layout.X)
	if moving {
		budget = int(p.budget)
	}
	var drawn int
	p.spans, drawn = p.tiles.Plan(x0-m, y0-m, x1+m, y1+m, budget, p.spans)
	return drawn
}

// adapt tunes the moving budget from the time since the last frame: a
// slow frame shrinks it at once, and it grows again only after a run of
// pointsFastRun fast frames, so that probing for a larger budget does not
// itself drop a frame every few.
func (p *pointsPanel) adapt(dt float64) {
	switch {
	case dt > 24:
		p.budget = math.Max(pointsMinBudget, p.budget*0.75)
		p.fastRun = 0
	case dt < 18:
		if p.fastRun++; p.fastRun >= pointsFastRun {
			p.budget = math.Min(float64(len(p.layout.X)), p.budget*1.1)
			p.fastRun = 0
		}
	}
}

// render draws the points, then the overlay.
func (p *pointsPanel) render() {
	t0 := p.a.dom.now()
	p.dirty = false
	p.frames++
	n := len(p.layout.X)
	if p.gl != nil {
		moving := p.a.dom.now()-p.lastMove < thumbSettleMs
		p.drawn = p.plan(moving)
		p.sampled = moving
		p.gl.draw(p.view, p.w, p.h, p.pointSize(), p.spans)
	} else {
		p.draw2D()
		p.drawn = n
	}
	// While the view moves, the names and thumbnails wait (the overlay is
	// a second canvas to raster and composite every frame); the lasso
	// being drawn does not move the view.
	if p.gl == nil || !p.sampled {
		p.overlay()
		p.overlayClear = false
	} else if !p.overlayClear {
		p.ovCtx.Call("clearRect", 0, 0, p.w, p.h)
		p.overlayClear = true
	}
	p.lastMs = p.a.dom.now() - t0
}

// pointSize grows with the zoom, from 2 px on the whole map.
func (p *pointsPanel) pointSize() float64 {
	fit := ui.Fit(p.bounds, float64(p.w), float64(p.h), 24).Scale
	return math.Max(2, math.Min(12, 2*math.Sqrt(p.view.Scale/fit)))
}

// draw2D is the fallback without WebGL: a pixel buffer filled in Go, one
// copy to the canvas.
func (p *pointsPanel) draw2D() {
	w, h := p.w, p.h
	buf := make([]byte, 4*w*h)
	for i := 0; i < len(buf); i += 4 {
		buf[i], buf[i+1], buf[i+2], buf[i+3] = ui.Background.R, ui.Background.G, ui.Background.B, 255
	}
	s := int(p.pointSize())
	for pass := 0; pass < 2; pass++ { // lit points last, on top
		for i := range p.layout.X {
			if (p.colors[4*i+3] == 255) != (pass == 1) {
				continue
			}
			sx := int((float64(p.layout.X[i]) - p.view.X) * p.view.Scale)
			sy := int((float64(p.layout.Y[i]) - p.view.Y) * p.view.Scale)
			for dy := 0; dy < s; dy++ {
				for dx := 0; dx < s; dx++ {
					x, y := sx+dx-s/2, sy+dy-s/2
					if x >= 0 && y >= 0 && x < w && y < h {
						o := 4 * (y*w + x)
						copy(buf[o:o+3], p.colors[4*i:4*i+3])
					}
				}
			}
		}
	}
	img := p.ctx2d.Call("createImageData", w, h)
	js.CopyBytesToJS(js.Global().Get("Uint8Array").New(img.Get("data").Get("buffer")), buf)
	p.ctx2d.Call("putImageData", img, 0, 0)
}

// overlay draws the cluster names at their centres (collisions avoided,
// the largest clusters first), the thumbnails of the points on screen
// when few are, and the lasso.
func (p *pointsPanel) overlay() {
	c := p.ovCtx
	c.Call("clearRect", 0, 0, p.w, p.h)
	m := &p.a.m
	l := p.layout
	// Thumbnails instead of points when zoomed in far enough.
	x0, y0 := p.view.ToWorld(0, 0)
	x1, y1 := p.view.ToWorld(float64(p.w), float64(p.h))
	nv, ids := p.grid.Visible(l.X, l.Y, x0, y0, x1, y1, pointsThumbMax)
	p.thumbsShown = 0
	p.thumbWant = nil
	if nv > 0 && nv <= pointsThumbMax {
		for _, id := range ids {
			img, ok := p.thumbs[id]
			if !ok {
				p.thumbWant = append(p.thumbWant, id)
				continue
			}
			sx := (float64(l.X[id])-p.view.X)*p.view.Scale - pointsThumbPx/2
			sy := (float64(l.Y[id])-p.view.Y)*p.view.Scale - pointsThumbPx/2
			c.Call("putImageData", img, math.Round(sx), math.Round(sy))
			p.thumbsShown++
		}
	}
	// Cluster names.
	p.labels = p.labels[:0]
	if as := m.asg; as != nil && len(as.Sub) == len(l.X) {
		nsub := len(as.SubParent)
		if key := [2]uint32{l.Version, as.Version}; key != p.centresOf || p.cx == nil || p.needCentres {
			p.cx, p.cy, p.cnt = ui.Centres(l.X, l.Y, as.Sub, nsub)
			p.centresOf, p.needCentres = key, false
			p.bySize = p.bySize[:0]
			for z := range nsub {
				if p.cnt[z] > 0 {
					p.bySize = append(p.bySize, int32(z))
				}
			}
			slices.SortFunc(p.bySize, func(a, b int32) int { return p.cnt[b] - p.cnt[a] })
		}
		cx, cy, cnt := p.cx, p.cy, p.cnt
		c.Set("font", "12px system-ui, sans-serif")
		var cand []ui.Label
		var text []string
		if p.textW == nil || len(p.textW) > 20000 {
			p.textW = map[string]float64{}
		}
		// The largest clusters on screen are the candidates.
		for _, z := range p.bySize {
			if len(cand) >= 4*pointsLabelMax {
				break
			}
			sx, sy := (cx[z]-p.view.X)*p.view.Scale, (cy[z]-p.view.Y)*p.view.Scale
			if sx < 0 || sy < 0 || sx > float64(p.w) || sy > float64(p.h) {
				continue
			}
			name := p.clusterName(z)
			if name == "" {
				continue
			}
			tw, ok := p.textW[name]
			if !ok {
				tw = c.Call("measureText", name).Get("width").Float() + 8
				p.textW[name] = tw
			}
			cand = append(cand, ui.Label{X: sx, Y: sy, W: tw, H: 17, Weight: float64(cnt[z])})
			text = append(text, name)
		}
		shown, at := ui.PlaceLabels(cand, float64(p.w), float64(p.h))
		for i, ok := range shown {
			if !ok || len(p.labels) >= pointsLabelMax {
				continue
			}
			c.Set("fillStyle", "rgba(16,18,22,0.72)")
			c.Call("fillRect", at[i][0], at[i][1], cand[i].W, cand[i].H)
			c.Set("fillStyle", "#f2f4f8")
			c.Call("fillText", text[i], at[i][0]+4, at[i][1]+12.5)
			p.labels = append(p.labels, text[i])
		}
	}
	// The lasso.
	if len(p.lasso) >= 4 {
		c.Call("beginPath")
		for i := 0; i+1 < len(p.lasso); i += 2 {
			sx, sy := (p.lasso[i]-p.view.X)*p.view.Scale, (p.lasso[i+1]-p.view.Y)*p.view.Scale
			if i == 0 {
				c.Call("moveTo", sx, sy)
			} else {
				c.Call("lineTo", sx, sy)
			}
		}
		c.Call("closePath")
		c.Set("fillStyle", "rgba(255,214,64,0.10)")
		c.Call("fill")
		c.Set("strokeStyle", "#ffd640")
		c.Set("lineWidth", 1.5)
		c.Call("stroke")
	}
}

// clusterName is what the map calls a sub-cluster: ui.ClusterName, as the
// treemap and the flow view.
func (p *pointsPanel) clusterName(z int32) string {
	m := &p.a.m
	return ui.ClusterName(m.notes[z].name, m.sums, z)
}

// fetchThumbs asks for the thumbnails of the points on screen (one batch
// of GET /api/thumbs), once the view has settled.
func (p *pointsPanel) fetchThumbs() {
	if p.thumbAsking || len(p.thumbWant) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("/api/thumbs?px=" + itoa(pointsThumbPx) + "&ids=")
	for i, id := range p.thumbWant {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(itoa(int(id)))
	}
	p.thumbAsking = true
	p.thumbWant = nil
	p.a.fetchBytes(b.String(), func(status int, body []byte, err string) {
		p.thumbAsking = false
		if status != 200 || err != "" {
			p.a.reportErr("map thumbnails", "HTTP "+itoa(status)+" "+err)
			return
		}
		batch, derr := wire.DecodeThumbBatch(body)
		if derr != nil {
			p.a.reportErr("map thumbnails", derr)
			return
		}
		if len(p.thumbs) > 4000 {
			p.thumbs = map[int32]js.Value{}
		}
		for i, id := range batch.IDs {
			p.thumbs[id] = rgbImage(p.ovCtx, batch.Thumb(i), batch.Px, pointsThumbPx)
		}
		p.dirty = true
	})
}

// rgbImage makes an ImageData of side out from a px x px RGB thumbnail
// (nearest neighbour), with a one-pixel dark frame.
func rgbImage(ctx js.Value, rgb []byte, px, out int) js.Value {
	buf := make([]byte, 4*out*out)
	for y := range out {
		for x := range out {
			o := 4 * (y*out + x)
			if x == 0 || y == 0 || x == out-1 || y == out-1 {
				buf[o], buf[o+1], buf[o+2], buf[o+3] = 16, 18, 22, 255
				continue
			}
			s := 3 * ((y*px/out)*px + x*px/out)
			buf[o], buf[o+1], buf[o+2], buf[o+3] = rgb[s], rgb[s+1], rgb[s+2], 255
		}
	}
	img := ctx.Call("createImageData", out, out)
	js.CopyBytesToJS(js.Global().Get("Uint8Array").New(img.Get("data").Get("buffer")), buf)
	return img
}

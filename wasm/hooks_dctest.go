//go:build js && wasm && dctest

package main

import (
	"math"
	"slices"
	"syscall/js"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wasm/ui"
)

// This file is built only with the dctest tag (make wasm builds such a
// copy of the client for e2e/ and bench/ui beside the shipped one): the
// JavaScript globals that tests and benchmarks drive the page with.
//
//	dcState()        the client's state as JSON (e2e.ClientState)
//	dcBench(n)       a Promise of n frames of scripted pan and zoom, timed
//	dcFullFrames(n)  the mean time to draw the whole map, n times
//	dcCells()        the sub-cells on screen, for the benchmark's peer
//	dcZoomToSub(z)   zoom to a sub-cluster, as a search result does
//	dcMapPixels()    the map view drawn once more and its pixels counted
//	dcMapScreen()    every point's position on the map view's screen
//	dcMapZoom(f)     zoom the map view by f about the centre of the canvas
//	dcMapBench(n)    a Promise of n frames of scripted pan and zoom of the map view
//	dcLassoIDs()     the lassoed images; dcExported() the last export's body

// installHooks sets the globals; the panels given add their state to
// dcState's.
func installHooks(a *app, mp *mapPanel, search *searchPanel, recluster *reclusterPanel, charts *chartsPanel, images *imagePanel, detail *detailPanel, points *pointsPanel, flow *flowPanel) {
	g := js.Global()
	states := []func(*ui.Obj){mp.state, search.state, recluster.state, charts.state, images.state, detail.state, points.state, flow.state}
	installPointsHooks(a, points)
	g.Set("dcState", a.dom.fn("dcState", func(js.Value, []js.Value) any { return a.stateJSON(states) }))
	bench := &benchDriver{mp: mp}
	// Before the map draws, as the scripted moves are the frame's input.
	a.tickers = append([]func(float64){bench.tick}, a.tickers...)
	// dcBench(n, here) returns a Promise of a JSON string with n frame
	// intervals, from the whole map, or with here true from the view on
	// screen (a zoomed cell and its photo wall).
	g.Set("dcBench", a.dom.fn("dcBench", func(_ js.Value, args []js.Value) any {
		n := 300
		if len(args) > 0 && args[0].Type() == js.TypeNumber {
			n = args[0].Int()
		}
		here := len(args) > 1 && args[1].Truthy()
		var exec js.Func
		exec = js.FuncOf(func(_ js.Value, pa []js.Value) any {
			exec.Release()
			if !here {
				mp.view = ui.Fit(mp.bounds, float64(mp.canvas.W), float64(mp.canvas.H), 0)
			}
			bench.run = &benchRun{n: n, resolve: pa[0]}
			return nil
		})
		return g.Get("Promise").New(exec)
	}))
	// dcFullFrames(n) draws n frames of the whole map at once and returns
	// the mean time per frame in ms, read back so that the canvas has
	// really been written (the benchmark's like-for-like measurement).
	g.Set("dcFullFrames", a.dom.fn("dcFullFrames", func(_ js.Value, args []js.Value) any {
		n := 10
		if len(args) > 0 {
			n = args[0].Int()
		}
		mp.view = ui.Fit(mp.bounds, float64(mp.canvas.W), float64(mp.canvas.H), 0)
		mp.viewStart, mp.animStart = 0, 0
		t0 := a.dom.now()
		for i := 0; i < n; i++ {
			mp.render()
			mp.ctx.Call("getImageData", 0, 0, 1, 1)
		}
		return (a.dom.now() - t0) / float64(n)
	}))
	// dcCells returns the screen rectangles and colours of the sub-cells
	// at the current view as a Float32Array of x, y, w, h, r, g, b: what a
	// page drawing one fillRect per cell (the benchmark's peer) would draw.
	g.Set("dcCells", a.dom.fn("dcCells", func(js.Value, []js.Value) any {
		if mp.tree == nil {
			return js.Null()
		}
		var out []float32
		for _, n := range mp.tree.Nodes {
			if n.Level != ui.LevelSub {
				continue
			}
			x0, y0, x1, y1 := mp.view.ToScreen(n.Rect)
			out = append(out, float32(x0), float32(y0), float32(x1-x0), float32(y1-y0),
				float32(n.Color.R), float32(n.Color.G), float32(n.Color.B))
		}
		arr := js.Global().Get("Float32Array").New(len(out))
		b := make([]byte, 4*len(out))
		for i, f := range out {
			u := math.Float32bits(f)
			b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		}
		js.CopyBytesToJS(js.Global().Get("Uint8Array").New(arr.Get("buffer")), b)
		return arr
	}))
	// dcZoomToSub(z) zooms to a sub-cluster, as clicking a search result
	// does (without selecting it).
	g.Set("dcZoomToSub", a.dom.fn("dcZoomToSub", func(_ js.Value, args []js.Value) any {
		if mp.tree == nil || len(args) == 0 {
			return false
		}
		z := args[0].Int()
		if z < 0 || z >= len(mp.tree.SubNode) {
			return false
		}
		mp.zoomTo(mp.tree.Nodes[mp.tree.SubNode[z]].Rect)
		return true
	}))
}

// stateJSON: the core's keys, then each panel's.
func (a *app) stateJSON(states []func(*ui.Obj)) string {
	m := &a.m
	o := ui.NewObj().
		Bool("connected", a.sock.open).
		Int("reconnects", int64(a.sock.reconnects)).
		Int("version", int64(m.version())).
		Int("versions_received", int64(m.versions)).
		Str("phase", string(m.progress.Phase))
	if m.asg != nil {
		o.Int("images", int64(len(m.asg.Super))).Int("supers", int64(m.asg.M)).Int("subclusters", int64(len(m.asg.SubParent)))
	} else {
		o.Int("images", 0).Int("supers", 0).Int("subclusters", 0)
	}
	var named []string
	for z, n := range m.notes {
		if n.name != "" {
			named = append(named, itoa(int(z))+"="+n.name)
		}
	}
	slices.Sort(named)
	o.Strs("notes", named).Int("image", int64(m.image))
	o.Int("selected", int64(m.selected)).
		Num("decode_ms", a.decodeMs).
		Num("layout_ms", a.layoutMs).
		Str("last_error", a.lastErr)
	for _, state := range states {
		state(o)
	}
	return o.String()
}

func (p *mapPanel) state(o *ui.Obj) {
	o.Str("mode", p.mode.String()).
		Int("clusters_drawn", int64(p.stats.Subs)).
		Int("cells_drawn", int64(p.stats.Drawn)).
		Int("cells_culled", int64(p.stats.Culled)).
		Int("cells_tiny", int64(p.stats.Tiny)).
		Int("highlighted_drawn", int64(p.stats.Highlighted)).
		Int("hover", int64(p.hover)).
		Bool("animating", p.animStart > 0 || p.viewStart > 0).
		Int("frames", int64(p.frames)).
		Num("last_frame_ms", p.lastMs).
		Int("canvas_w", int64(p.canvas.W)).
		Int("canvas_h", int64(p.canvas.H)).
		Num("scale", p.view.Scale).
		Strs("labels", p.labels)
	w := p.wall
	o.Int("wall_sub", int64(w.sub)).
		Int("wall_images", int64(w.images)).
		Int("wall_shown", int64(w.shown)).
		Int("wall_visible", int64(w.visible)).
		Int("wall_drawn", int64(w.drawn)).
		Num("wall_tile", w.tile).
		Num("wall_x", w.x).
		Num("wall_y", w.y).
		Num("wall_fill", w.fill).
		Int("wall_px", int64(w.maxPx)).
		Int("walls", int64(w.walls)).
		Int("wall_tiles_drawn", int64(w.tilesDrawn)).
		Int("thumb_batches", int64(w.batches)).
		Int("thumbs_received", int64(w.received)).
		Int("thumb_px_requested", int64(w.requestedPx)).
		Int("thumbs_in_flight", int64(w.inFlight)).
		Bool("thumbs_wanted", p.thumbsWanted)
}

func (p *imagePanel) state(o *ui.Obj) {
	o.Int("image_shown", int64(p.id)).
		Int("image_loaded", int64(p.loaded)).
		Int("image_super", int64(p.super)).
		Int("image_sub", int64(p.sub)).
		Int("similar_of", int64(p.simOf)).
		Ints("similar", p.similar).
		Str("similar_error", p.simErr)
}

func (p *detailPanel) state(o *ui.Obj) {
	o.Str("note_msg", p.noteMsg).Strs("figures", p.figures)
}

func (p *searchPanel) state(o *ui.Obj) {
	o.Str("search_query", p.query).
		Int("search_version", int64(p.version)).
		Str("search_error", p.err).
		Ints("highlighted", p.ids).
		Int("results", int64(len(p.hits)))
	carriers, rest := p.split()
	o.Int("carriers", int64(carriers)).Int("rest", int64(rest))
}

func (p *reclusterPanel) state(o *ui.Obj) {
	o.Bool("recluster_busy", p.busy()).Str("recluster_msg", p.msg)
}

func (c *chartsPanel) state(o *ui.Obj) {
	labels := 0
	for _, v := range c.label {
		if !math.IsNaN(v) {
			labels++
		}
	}
	o.Int("loss_points", int64(len(c.lossSup))).Int("metrics_points", int64(len(c.stab))).Int("label_points", int64(labels))
}

// benchDriver runs dcBench's scripted pan and zoom, one step per animation
// frame, before the map draws.
type benchDriver struct {
	mp  *mapPanel
	run *benchRun
}

// benchRun records the time between frames (what the user sees) and the
// time to draw each one.
type benchRun struct {
	n         int
	i         int
	prev      float64
	intervals []float64
	render    []float64
	raster    []float64
	copyPut   []float64
	overlay   []float64
	tiles     int // photo-wall tiles drawn with pixels, over all frames
	resolve   js.Value
}

func (d *benchDriver) tick(ts float64) {
	b, p := d.run, d.mp
	if b == nil {
		return
	}
	if b.i > 0 {
		b.tiles += p.wall.tilesDrawn
		b.intervals = append(b.intervals, ts-b.prev)
		b.render = append(b.render, p.lastMs)
		b.raster = append(b.raster, p.phaseMs[0])
		b.copyPut = append(b.copyPut, p.phaseMs[1])
		b.overlay = append(b.overlay, p.phaseMs[2])
	}
	b.prev = ts
	if b.i >= b.n {
		d.run = nil
		o := ui.NewObj().Nums("intervals", b.intervals).Nums("render", b.render).
			Nums("raster", b.raster).Nums("copy", b.copyPut).Nums("overlay", b.overlay).
			Int("clusters_drawn", int64(p.stats.Subs)).Int("wall_tiles_drawn", int64(b.tiles))
		b.resolve.Invoke(o.String())
		return
	}
	w, h := float64(p.canvas.W), float64(p.canvas.H)
	switch k := b.i % 240; {
	case k < 80:
		p.view.ZoomAt(w*0.4, h*0.45, 1.05)
	case k < 160:
		p.view.Pan(-9, -5)
	default:
		p.view.ZoomAt(w*0.55, h*0.5, 1/1.05)
	}
	p.viewStart = 0
	p.lastMove = ts
	p.dirty = true
	b.i++
}

func (p *pointsPanel) state(o *ui.Obj) {
	m := &p.a.m
	o.Str("view", m.view).
		Bool("map_webgl", p.gl != nil).
		Int("map_layout_version", int64(layoutVersion(p.layout))).
		Bool("map_layout_final", p.layout != nil && p.layout.Final).
		Int("map_points", int64(len(layoutX(p.layout)))).
		Int("map_points_drawn", int64(p.drawn)).
		Int("map_highlighted", int64(p.highlighted)).
		Int("map_frames", int64(p.frames)).
		Num("map_last_frame_ms", p.lastMs).
		Num("map_scale", p.view.Scale).
		Int("map_thumbs_shown", int64(p.thumbsShown)).
		Int("map_hover", int64(p.hover)).
		Strs("map_labels", p.labels).
		Int("lasso_images", int64(len(p.sel))).
		Int("export_bytes", int64(len(p.exported))).
		Str("layout_stage", m.layoutProgress.Stage).
		Num("layout_done", m.layoutProgress.Done).
		Str("map_msg", p.a.dom.byID("pointsmsg").Get("textContent").String())
}

func layoutVersion(l *deepercluster.Layout) uint32 {
	if l == nil {
		return 0
	}
	return l.Version
}

func layoutX(l *deepercluster.Layout) []float32 {
	if l == nil {
		return nil
	}
	return l.X
}

func (p *flowPanel) state(o *ui.Obj) {
	var left, right int64
	var bands int
	if p.lay != nil {
		for _, n := range p.lay.Left {
			left += int64(n.Count)
		}
		for _, n := range p.lay.Right {
			right += int64(n.Count)
		}
		bands = len(p.lay.Bands)
	}
	from, to, images := 0, 0, 0
	if p.data != nil {
		from, to, images = p.data.from, p.data.to, p.data.images
	}
	o.Int("flow_from", int64(from)).Int("flow_to", int64(to)).Int("flow_images", int64(images)).
		Int("flow_left_sum", left).Int("flow_right_sum", right).Int("flow_bands", int64(bands)).
		Bool("flow_super", p.super).Str("flow_error", p.err).
		Int("flow_band", int64(p.band)).Ints("flow_band_ids", p.bandIDs).Str("flow_band_error", p.bandErr).
		Strs("flow_right_names", flowNames(p.rightStyle))
}

// flowNames are the labels of a flow column's nodes.
func flowNames(st []ui.FlowStyle) []string {
	out := make([]string, len(st))
	for i, s := range st {
		out[i] = s.Name
	}
	return out
}

// installPointsHooks sets the map view's globals.
func installPointsHooks(a *app, p *pointsPanel) {
	g := js.Global()
	// dcMapPixels() draws the map view and counts its non-background
	// pixels and those of the selected cluster's colour (WebGL only):
	// JSON {"webgl", "non_background", "lit", "lit_color"}.
	g.Set("dcMapPixels", a.dom.fn("dcMapPixels", func(js.Value, []js.Value) any {
		o := ui.NewObj().Bool("webgl", p.gl != nil)
		if p.layout == nil || p.gl == nil {
			return o.String()
		}
		p.upload()
		p.render()
		lit := ui.Color{}
		if z := a.m.selected; z >= 0 && a.m.asg != nil {
			for i, s := range a.m.asg.Sub {
				if s == z {
					lit = ui.Color{R: p.colors[4*i], G: p.colors[4*i+1], B: p.colors[4*i+2], A: 255}
					break
				}
			}
		}
		nonBg, litPx := p.gl.readPixels(p.w, p.h, lit)
		return o.Int("non_background", int64(nonBg)).Int("lit", int64(litPx)).Str("lit_color", lit.Hex()).String()
	}))
	// dcMapScreen() returns a Float32Array of x, y per image: where the
	// map view draws it, in canvas pixels.
	g.Set("dcMapScreen", a.dom.fn("dcMapScreen", func(js.Value, []js.Value) any {
		if p.layout == nil {
			return js.Null()
		}
		b := make([]byte, 8*len(p.layout.X))
		for i := range p.layout.X {
			x, y := p.screenOf(int32(i))
			ux, uy := math.Float32bits(float32(x)), math.Float32bits(float32(y))
			b[8*i], b[8*i+1], b[8*i+2], b[8*i+3] = byte(ux), byte(ux>>8), byte(ux>>16), byte(ux>>24)
			b[8*i+4], b[8*i+5], b[8*i+6], b[8*i+7] = byte(uy), byte(uy>>8), byte(uy>>16), byte(uy>>24)
		}
		arr := g.Get("Float32Array").New(2 * len(p.layout.X))
		js.CopyBytesToJS(g.Get("Uint8Array").New(arr.Get("buffer")), b)
		return arr
	}))
	g.Set("dcMapZoom", a.dom.fn("dcMapZoom", func(_ js.Value, args []js.Value) any {
		p.view.ZoomAt(float64(p.w)/2, float64(p.h)/2, args[0].Float())
		p.moveNow()
		return p.view.Scale
	}))
	g.Set("dcLassoIDs", a.dom.fn("dcLassoIDs", func(js.Value, []js.Value) any {
		return ui.NewObj().Ints("ids", p.sel).String()
	}))
	g.Set("dcExported", a.dom.fn("dcExported", func(js.Value, []js.Value) any { return p.exported }))
	// dcMapBench(n) returns a Promise of a JSON string with n frame
	// intervals and draw times of scripted pan and zoom of the map view,
	// from the whole map.
	bench := &pointsBench{p: p}
	a.tickers = append([]func(float64){bench.tick}, a.tickers...)
	g.Set("dcMapBench", a.dom.fn("dcMapBench", func(_ js.Value, args []js.Value) any {
		n := 300
		if len(args) > 0 && args[0].Type() == js.TypeNumber {
			n = args[0].Int()
		}
		var exec js.Func
		exec = js.FuncOf(func(_ js.Value, pa []js.Value) any {
			exec.Release()
			p.fit()
			bench.n, bench.i, bench.resolve = n, 0, pa[0]
			bench.intervals, bench.render, bench.drawn = nil, nil, nil
			bench.on = true
			return nil
		})
		return g.Get("Promise").New(exec)
	}))
}

// pointsBench runs dcMapBench: one scripted step per animation frame,
// before the map view draws.
type pointsBench struct {
	p                 *pointsPanel
	on                bool
	n, i              int
	prev              float64
	intervals, render []float64
	drawn             []float64
	resolve           js.Value
}

func (b *pointsBench) tick(ts float64) {
	if !b.on {
		return
	}
	p := b.p
	if b.i > 0 {
		b.intervals = append(b.intervals, ts-b.prev)
		b.render = append(b.render, p.lastMs)
		b.drawn = append(b.drawn, float64(p.drawn))
	}
	b.prev = ts
	if b.i >= b.n {
		b.on = false
		b.resolve.Invoke(ui.NewObj().Nums("intervals", b.intervals).Nums("render", b.render).
			Nums("drawn", b.drawn).Int("frames", int64(len(b.intervals))).String())
		return
	}
	w, h := float64(p.w), float64(p.h)
	switch k := b.i % 240; {
	case k < 80:
		p.view.ZoomAt(w*0.4, h*0.45, 1.04)
	case k < 160:
		p.view.Pan(-9, -5)
	default:
		p.view.ZoomAt(w*0.55, h*0.5, 1/1.04)
	}
	p.moveNow()
	b.i++
}

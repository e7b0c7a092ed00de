//go:build js && wasm

package main

import (
	"math"
	"slices"
	"syscall/js"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wasm/ui"
)

// Durations of transitions, in milliseconds.
const (
	layoutAnimMs = 700
	zoomAnimMs   = 450
	// thumbSettleMs is how long the view must stay still before new
	// thumbnails are requested.
	thumbSettleMs = 150
)

// app is the whole client state. JavaScript runs callbacks one at a time on
// the page's event loop and the client starts no goroutines, so no locks.
type app struct {
	dom   *dom
	sock  *socket
	token string

	// The run and its current Assignment, with what is derived from it.
	run       deepercluster.RunInfo
	haveRun   bool
	runHash   uint32
	asg       *deepercluster.Assignment
	sums      []deepercluster.ClusterSummary // by sub id; Size 0 when unknown
	superSize []int
	subSize   []int
	memStart  []int32 // image ids of sub z: members[memStart[z]:memStart[z+1]]
	members   []int32
	stable    ui.Stable
	versions  int // Assignment versions received

	// Layout and view.
	mode      ui.Mode
	tree      *ui.Treemap
	bounds    ui.Rect
	animStart float64
	view      ui.View
	viewFrom  ui.View
	viewTo    ui.View
	viewStart float64 // 0: no zoom transition

	// Drawing.
	canvasEl js.Value
	ctx      js.Value
	imgData  js.Value
	u8       js.Value
	canvas   *ui.Canvas
	style    ui.Style
	big      []ui.Big
	stats    ui.Stats
	dirty    bool
	rafFunc  js.Func
	frames   int
	lastMs   float64    // time to draw the last frame
	decodeMs float64    // time to decode the last frame from the server
	layoutMs float64    // time to match and lay out the last Assignment version
	phaseMs  [3]float64 // of which: raster, copy to the canvas, labels and thumbnails
	frameMs  []float64
	lastRAF  float64
	thumbs   map[int32]js.Value
	thumbOK  js.Func
	// lastMove is when the view last changed; thumbnails are only
	// requested once it has been still for a moment, so a fast pan does
	// not start hundreds of downloads. thumbsWanted notes that some were
	// held back.
	lastMove     float64
	thumbsWanted bool

	// Pointer.
	dragging       bool
	dragX, dragY   float64
	downX, downY   float64
	moved          bool
	hover          int32
	mouseX, mouseY float64

	// Panels.
	search   searchState
	sel      selection
	rc       reclusterState
	progress deepercluster.Progress
	charts   chartState
	lastErr  string

	// bench is set while window.dcBench drives frames.
	bench *benchRun
}

func newApp() *app {
	a := &app{hover: -1, thumbs: map[int32]js.Value{}}
	a.dom = newDOM(a.reportErr)
	a.sock = &socket{a: a}
	a.sel.sub = -1
	a.style = ui.Style{T: 1, Hover: -1, Selected: -1, MinBig: 44, MaxBig: 400}
	return a
}

func (a *app) reportErr(where string, v any) {
	msg := where + ": " + anyString(v)
	a.lastErr = msg
	js.Global().Get("console").Call("error", "deepercluster client:", msg)
}

func anyString(v any) string {
	switch x := v.(type) {
	case error:
		return x.Error()
	case string:
		return x
	case js.Value:
		return x.Call("toString").String()
	}
	return "unexpected failure"
}

func (a *app) start() {
	q := js.Global().Get("URLSearchParams").New(js.Global().Get("location").Get("search"))
	if t := q.Call("get", "token"); t.Type() == js.TypeString {
		a.token = t.String()
	}
	a.canvasEl = a.dom.byID("map")
	a.ctx = a.canvasEl.Call("getContext", "2d", map[string]any{"alpha": false})
	a.canvas = ui.NewCanvas(1, 1)
	a.resize()
	a.thumbOK = a.dom.fn("thumb", func(js.Value, []js.Value) any { a.dirty = true; return nil })
	a.bindMap()
	a.bindPanels()
	a.exposeState()
	a.rafFunc = a.dom.fn("frame", func(_ js.Value, args []js.Value) any {
		a.frame(args[0].Float())
		return nil
	})
	js.Global().Call("requestAnimationFrame", a.rafFunc)
	a.sock.connect()
	a.setConn("connecting", "connecting…")
}

// setConn shows the connection state in the header.
func (a *app) setConn(class, text string) {
	el := a.dom.byID("conn")
	el.Set("className", "conn "+class)
	setText(el, text)
}

// resize matches the pixel buffer to the canvas' size on the page and lays
// the map out again for the new shape.
func (a *app) resize() {
	w := a.canvasEl.Get("clientWidth").Int()
	h := a.canvasEl.Get("clientHeight").Int()
	if w < 1 || h < 1 {
		w, h = 800, 600
	}
	if w == a.canvas.W && h == a.canvas.H {
		return
	}
	a.canvasEl.Set("width", w)
	a.canvasEl.Set("height", h)
	a.canvas.Resize(w, h)
	a.imgData = a.ctx.Call("createImageData", w, h)
	a.u8 = js.Global().Get("Uint8Array").New(a.imgData.Get("data").Get("buffer"))
	a.bounds = ui.R(0, 0, float64(w), float64(h))
	if a.asg != nil {
		a.buildTree(false, nil, nil)
	}
	a.view = ui.Fit(a.bounds, float64(w), float64(h), 0)
	a.viewStart = 0
	a.dirty = true
}

// ---- frames from the server ----

func (a *app) onFrame(b []byte) {
	t0 := a.dom.now()
	f, err := deepercluster.DecodeFrame(b)
	a.decodeMs = a.dom.now() - t0
	if err != nil {
		a.reportErr("decode", err)
		return
	}
	if a.haveRun && f.Run != 0 && f.Run != a.runHash && f.Kind != deepercluster.KindSnapshot {
		// A frame of another run: only a snapshot can start over.
		a.sock.requestSnapshot(0)
		return
	}
	switch f.Kind {
	case deepercluster.KindSnapshot:
		if a.haveRun && f.Run != a.runHash {
			a.stable = ui.Stable{}
			a.tree = nil
		}
		a.setRun(*f.Info)
		a.runHash = f.Run
		a.asg = f.Assignment
		a.setSummaries(f.Summaries)
		a.newVersion()
	case deepercluster.KindDelta:
		if a.asg == nil || f.Delta.From != a.asg.Version {
			a.sock.requestSnapshot(a.version())
			return
		}
		if err := f.Delta.Apply(a.asg); err != nil {
			a.reportErr("apply delta", err)
			a.sock.requestSnapshot(a.version())
			return
		}
		a.setSummaries(f.Delta.Summaries)
		a.newVersion()
	case deepercluster.KindSummaries:
		if a.asg != nil && f.Version == a.asg.Version {
			a.setSummaries(f.Summaries)
			a.dirty = true
			a.refreshSelection()
		}
	case deepercluster.KindProgress:
		a.onProgress(*f.Progress)
	case deepercluster.KindMetrics:
		a.onMetrics(*f.Metrics)
	case deepercluster.KindRunInfo:
		a.setRun(*f.Info)
		a.runHash = f.Run
	}
}

func (a *app) version() uint32 {
	if a.asg == nil {
		return 0
	}
	return a.asg.Version
}

func (a *app) setSummaries(s []deepercluster.ClusterSummary) {
	if a.asg == nil {
		return
	}
	n := len(a.asg.SubParent)
	a.sums = make([]deepercluster.ClusterSummary, n)
	for _, cs := range s {
		if cs.Sub >= 0 && int(cs.Sub) < n {
			a.sums[cs.Sub] = cs
		}
	}
}

// newVersion lays out a new Assignment version, animating from the previous
// layout and keeping persisting clusters in place.
func (a *app) newVersion() {
	t0 := a.dom.now()
	defer func() { a.layoutMs = a.dom.now() - t0 }()
	as := a.asg
	a.versions++
	a.superSize, a.subSize = as.Sizes()
	// Members of every sub-cluster (counting sort), for thumbnails.
	n := len(as.SubParent)
	if cap(a.memStart) >= n+1 {
		a.memStart = a.memStart[:n+1]
		clear(a.memStart)
	} else {
		a.memStart = make([]int32, n+1)
	}
	for z, c := range a.subSize {
		a.memStart[z+1] = a.memStart[z] + int32(c)
	}
	if cap(a.members) >= len(as.Sub) {
		a.members = a.members[:len(as.Sub)]
	} else {
		a.members = make([]int32, len(as.Sub))
	}
	pos := slices.Clone(a.memStart[:n])
	for i, z := range as.Sub {
		a.members[pos[z]] = int32(i)
		pos[z]++
	}
	superMatch, subMatch := a.stable.Update(as.Version, as.Super, as.Sub, as.M, as.SubParent)
	oldSel := a.sel.sub
	a.buildTree(true, superMatch, subMatch)
	// The selection follows its cluster into the new version.
	if oldSel >= 0 {
		a.sel.sub = -1
		for z, o := range subMatch {
			if o == oldSel {
				a.sel.sub = int32(z)
				break
			}
		}
		a.sel.page = 0
		a.refreshSelection()
	}
	a.hover = -1
	a.rc.onVersion(a)
	a.search.onVersion(a)
	a.updateHeader()
}

// buildTree lays the current Assignment out; with animate, cells move from
// where their matched clusters were (nil matches mean the same ids).
func (a *app) buildTree(animate bool, superMatch, subMatch []int32) {
	as := a.asg
	in := ui.Input{M: as.M, SubParent: as.SubParent, SuperSize: a.superSize, SubSize: a.subSize,
		SuperRank: a.stable.SuperRank, SubRank: a.stable.SubRank, SuperKey: a.stable.SuperKey, SubKey: a.stable.SubKey}
	t := ui.Build(in, a.bounds, a.mode)
	if animate && a.tree != nil {
		t.AnimateFrom(a.tree, superMatch, subMatch)
		a.animStart = a.dom.now()
	} else {
		a.animStart = 0
	}
	a.tree = t
	a.applyHighlight()
	a.dirty = true
}

// ---- drawing ----

func (a *app) frame(ts float64) {
	js.Global().Call("requestAnimationFrame", a.rafFunc)
	if a.bench != nil {
		a.bench.step(a, ts)
	}
	a.charts.maybeDraw(a, ts)
	if a.thumbsWanted && ts-a.lastMove > thumbSettleMs {
		a.dirty = true
	}
	if !a.dirty && a.animStart == 0 && a.viewStart == 0 {
		return
	}
	a.render()
}

// render draws one frame: the map into the Go buffer, one copy to the
// canvas, then the few labels and thumbnails of large cells.
func (a *app) render() {
	t0 := a.dom.now()
	a.dirty = false
	a.style.T = 1
	if a.animStart > 0 {
		p := (t0 - a.animStart) / layoutAnimMs
		if p >= 1 {
			a.animStart = 0
		} else {
			a.style.T = ui.Ease(p)
		}
	}
	if a.viewStart > 0 {
		p := (t0 - a.viewStart) / zoomAnimMs
		if p >= 1 {
			a.viewStart = 0
			a.view = a.viewTo
		} else {
			a.view = ui.LerpView(a.viewFrom, a.viewTo, float64(a.canvas.W), float64(a.canvas.H), ui.Ease(p))
		}
		a.lastMove = t0
	}
	a.style.Hover = a.hover
	a.style.Selected = -1
	if a.tree != nil && a.sel.sub >= 0 && int(a.sel.sub) < len(a.tree.SubNode) {
		a.style.Selected = a.tree.SubNode[a.sel.sub]
	}
	a.stats, a.big = ui.Draw(a.canvas, a.tree, a.view, &a.style, a.big)
	t1 := a.dom.now()
	js.CopyBytesToJS(a.u8, a.canvas.Pix)
	a.ctx.Call("putImageData", a.imgData, 0, 0)
	t2 := a.dom.now()
	a.overlay()
	t3 := a.dom.now()
	a.phaseMs = [3]float64{t1 - t0, t2 - t1, t3 - t2}
	a.lastMs = t3 - t0
	a.frames++
	if len(a.frameMs) >= 240 {
		copy(a.frameMs, a.frameMs[1:])
		a.frameMs = a.frameMs[:239]
	}
	a.frameMs = append(a.frameMs, a.lastMs)
}

// overlay writes labels and draws thumbnails on cells that are large on
// screen: a few dozen canvas calls, never one per cluster.
func (a *app) overlay() {
	if a.tree == nil || len(a.big) == 0 {
		return
	}
	c := a.ctx
	c.Set("font", "11px system-ui, sans-serif")
	c.Set("textBaseline", "top")
	thumbs, labels := 0, 0
	a.thumbsWanted = false
	settled := a.viewStart == 0 && a.dom.now()-a.lastMove > thumbSettleMs
	// Text is the costly part of the overlay: fewer labels while moving.
	maxLabels := 60
	if settled {
		maxLabels = 250
	}
	for _, b := range a.big {
		n := &a.tree.Nodes[b.Node]
		x0, y0 := math.Max(b.X0, 0), math.Max(b.Y0, 0)
		x1, y1 := math.Min(b.X1, float64(a.canvas.W)), math.Min(b.Y1, float64(a.canvas.H))
		w, h := x1-x0, y1-y0
		if w < 40 || h < 14 {
			continue
		}
		if labels >= maxLabels {
			continue
		}
		var label string
		if n.Level == ui.LevelSub {
			if w < 60 || h < 16 {
				continue
			}
			label = a.subLabel(n.Sub)
		} else {
			// Super labels only where their sub-cells are too small for
			// their own.
			if n.Count > 0 && w*h/float64(n.Count) > 70*40 {
				continue
			}
			label = "super " + itoa(int(n.Super))
			if n.Level == ui.LevelRotation {
				label += " · " + itoa(90*int(n.Rot)) + "°"
			}
			label += " · " + itoa(int(n.Size))
		}
		// Cut to the cell by an estimated glyph width: fillText's own
		// maxWidth re-measures text and costs far more.
		if maxc := int((w - 8) / 6.5); len(label) > maxc {
			if maxc < 4 {
				continue
			}
			label = truncate(label, maxc-1) + "…"
		}
		labels++
		c.Set("fillStyle", "rgba(0,0,0,.45)")
		c.Call("fillRect", x0+2, y0+2, math.Min(w-4, 6.5*float64(len(label))+6), 14)
		c.Set("fillStyle", "#fff")
		c.Call("fillText", label, x0+5, y0+3)
		if n.Level != ui.LevelSub || w < 80 || h < 70 || thumbs >= 160 {
			continue
		}
		// A few thumbnails, laid in a row grid under the label.
		s := math.Max(24, math.Min(64, math.Min(w, h)/3))
		cols := int((w - 6) / (s + 2))
		rows := int((h - 22) / (s + 2))
		k := min(cols*rows, 12)
		ids := a.members[a.memStart[n.Sub]:a.memStart[n.Sub+1]]
		for j := 0; j < k && j < len(ids); j++ {
			img, ok := a.thumbs[ids[j]]
			if !ok {
				if !settled {
					a.thumbsWanted = true
					continue
				}
				img = a.thumb(ids[j])
			}
			if !img.Get("complete").Bool() || img.Get("naturalWidth").Int() == 0 {
				continue
			}
			x := x0 + 4 + float64(j%cols)*(s+2)
			y := y0 + 20 + float64(j/cols)*(s+2)
			if n.Rot > 0 {
				c.Call("save")
				c.Call("translate", x+s/2, y+s/2)
				c.Call("rotate", float64(n.Rot)*math.Pi/2)
				c.Call("drawImage", img, -s/2, -s/2, s, s)
				c.Call("restore")
			} else {
				c.Call("drawImage", img, x, y, s, s)
			}
			thumbs++
		}
	}
}

// truncate cuts s to at most n bytes on a UTF-8 boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// thumb returns the cached image element of a thumbnail, creating it (and
// so starting its download) on first use.
func (a *app) thumb(id int32) js.Value {
	if img, ok := a.thumbs[id]; ok {
		return img
	}
	if len(a.thumbs) > 4000 {
		a.thumbs = map[int32]js.Value{}
	}
	img := js.Global().Get("Image").New()
	img.Set("onload", a.thumbOK)
	img.Set("src", a.thumbURL(id))
	a.thumbs[id] = img
	return img
}

func (a *app) thumbURL(id int32) string { return "/api/images/" + itoa(int(id)) + "/thumb" }

// subLabel names a cell by its best c-TF-IDF keyword (what sets it apart),
// falling back to its most frequent tag.
func (a *app) subLabel(z int32) string {
	if int(z) < len(a.sums) {
		if cs := a.sums[z]; len(cs.Keywords) > 0 {
			return "#" + cs.Keywords[0] + " · " + itoa(a.subSize[z])
		} else if len(cs.TopTags) > 0 {
			return "#" + cs.TopTags[0].Tag + " · " + itoa(a.subSize[z])
		}
	}
	return "sub " + itoa(int(z)) + " · " + itoa(a.subSize[z])
}

// ---- the map's pointer and keyboard ----

func (a *app) bindMap() {
	d := a.dom
	el := a.canvasEl
	d.on(js.Global(), "resize", func(js.Value) { a.resize() })
	d.on(el, "wheel", func(e js.Value) {
		e.Call("preventDefault")
		dy := e.Get("deltaY").Float()
		if e.Get("deltaMode").Int() == 1 {
			dy *= 16
		}
		a.viewStart = 0
		a.view.ZoomAt(e.Get("offsetX").Float(), e.Get("offsetY").Float(), math.Exp(-dy*0.0015))
		a.lastMove = a.dom.now()
		a.dirty = true
	})
	d.on(el, "mousedown", func(e js.Value) {
		a.dragging, a.moved = true, false
		a.dragX, a.dragY = e.Get("offsetX").Float(), e.Get("offsetY").Float()
		a.downX, a.downY = a.dragX, a.dragY
		el.Get("classList").Call("add", "dragging")
	})
	d.on(el, "mousemove", func(e js.Value) {
		x, y := e.Get("offsetX").Float(), e.Get("offsetY").Float()
		a.mouseX, a.mouseY = x, y
		if a.dragging {
			if math.Abs(x-a.downX)+math.Abs(y-a.downY) > 3 {
				a.moved = true
			}
			a.viewStart = 0
			a.view.Pan(x-a.dragX, y-a.dragY)
			a.dragX, a.dragY = x, y
			a.lastMove = a.dom.now()
			a.dirty = true
			return
		}
		a.setHover(x, y)
	})
	up := func(e js.Value) {
		if !a.dragging {
			return
		}
		a.dragging = false
		el.Get("classList").Call("remove", "dragging")
		if !a.moved {
			a.clickAt(a.downX, a.downY)
		}
	}
	d.on(el, "mouseup", up)
	d.on(el, "mouseleave", func(e js.Value) {
		up(e)
		a.hover = -1
		a.dom.byID("tooltip").Set("hidden", true)
		a.dirty = true
	})
	d.on(el, "dblclick", func(e js.Value) {
		if n := a.hit(e.Get("offsetX").Float(), e.Get("offsetY").Float()); n >= 0 {
			a.zoomTo(a.tree.Nodes[n].Rect)
		}
	})
	d.on(el, "keydown", func(e js.Value) {
		switch e.Get("key").String() {
		case "0", "Home":
			a.zoomTo(a.bounds)
		case "+", "=":
			a.view.ZoomAt(float64(a.canvas.W)/2, float64(a.canvas.H)/2, 1.25)
			a.dirty = true
		case "-":
			a.view.ZoomAt(float64(a.canvas.W)/2, float64(a.canvas.H)/2, 0.8)
			a.dirty = true
		case "Escape":
			a.selectSub(-1)
		}
	})
	d.on(a.dom.byID("resetview"), "click", func(js.Value) { a.zoomTo(a.bounds) })
	for _, m := range []ui.Mode{ui.ModeSuperClusters, ui.ModeSuperClasses} {
		m := m
		d.on(a.dom.byID("mode-"+m.String()), "click", func(js.Value) { a.setMode(m) })
	}
}

func (a *app) hit(sx, sy float64) int32 {
	if a.tree == nil {
		return -1
	}
	x, y := a.view.ToWorld(sx, sy)
	return a.tree.Hit(x, y)
}

// setMode switches between nesting sub-clusters in super-clusters and in
// the four rotation super-classes, animating cells to their new places.
func (a *app) setMode(m ui.Mode) {
	for _, o := range []ui.Mode{ui.ModeSuperClusters, ui.ModeSuperClasses} {
		cl := a.dom.byID("mode-" + o.String()).Get("classList")
		if o == m {
			cl.Call("add", "active")
		} else {
			cl.Call("remove", "active")
		}
	}
	if m == a.mode {
		return
	}
	a.mode = m
	if a.asg != nil {
		a.buildTree(true, nil, nil)
	}
}

// zoomTo moves the view smoothly so that r fills most of the screen.
func (a *app) zoomTo(r ui.Rect) {
	a.viewFrom = a.view
	a.viewTo = ui.Fit(r, float64(a.canvas.W), float64(a.canvas.H), 24)
	a.viewStart = a.dom.now()
	a.dirty = true
}

func (a *app) setHover(x, y float64) {
	n := a.hit(x, y)
	tip := a.dom.byID("tooltip")
	if n != a.hover {
		a.hover = n
		a.dirty = true
		if n >= 0 {
			setHTML(tip, a.tooltipHTML(n))
		}
	}
	if n < 0 {
		tip.Set("hidden", true)
		return
	}
	tip.Set("hidden", false)
	left := x + 14
	if left > float64(a.canvas.W)-290 {
		left = x - 290
	}
	tip.Get("style").Set("left", ftoa(math.Max(0, left), 0)+"px")
	tip.Get("style").Set("top", ftoa(y+14, 0)+"px")
}

// tooltipHTML: size, top tags and the share of the top tag.
func (a *app) tooltipHTML(i int32) string {
	n := &a.tree.Nodes[i]
	s := ""
	if n.Level == ui.LevelSub {
		s = "<b>sub-cluster " + itoa(int(n.Sub)) + "</b> in super-cluster " + itoa(int(n.Super))
		if n.Rot >= 0 {
			s += " (super-class " + itoa(90*int(n.Rot)) + "°)"
		}
		size := a.subSize[n.Sub]
		s += "<br>" + itoa(size) + " images"
		if ss := a.superSize[n.Super]; ss > 0 {
			s += " (" + pct(float64(size)/float64(ss)) + " of its super-cluster)"
		}
		if int(n.Sub) < len(a.sums) && len(a.sums[n.Sub].TopTags) > 0 {
			cs := a.sums[n.Sub]
			s += "<br>top tag <b>#" + esc(cs.TopTags[0].Tag) + "</b> on " + pct(cs.TopShare) + " of its images<br>"
			for j, t := range cs.TopTags {
				if j >= 6 {
					break
				}
				s += `<span class="tag">#` + esc(t.Tag) + " <i>" + itoa(t.Count) + "</i></span>"
			}
			if len(cs.Keywords) > 0 {
				s += "<br>keywords"
				for j, k := range cs.Keywords {
					if j >= 5 {
						break
					}
					s += ` <span class="kw">#` + esc(k) + "</span>"
				}
			}
		} else {
			s += "<br><span class=muted>tags not indexed yet</span>"
		}
		if a.search.active() && int(n.Sub) < len(a.style.Highlight) && a.style.Highlight[n.Sub] {
			s += "<br><span class=kw>matches " + esc(a.search.query) + "</span>"
		}
		return s
	}
	s = "<b>super-cluster " + itoa(int(n.Super)) + "</b>"
	if n.Level == ui.LevelRotation {
		s += ", super-class rotated " + itoa(90*int(n.Rot)) + "° (class " + itoa(4*int(n.Super)+int(n.Rot)) + ")"
	}
	s += "<br>" + itoa(a.superSize[n.Super]) + " images"
	return s
}

func (a *app) clickAt(x, y float64) {
	n := a.hit(x, y)
	a.dom.byID("map").Call("focus")
	if n < 0 {
		return
	}
	if nd := a.tree.Nodes[n]; nd.Level == ui.LevelSub {
		a.selectSub(nd.Sub)
	}
}

//go:build js && wasm

package main

import (
	"math"
	"syscall/js"

	"github.com/deepercluster/deepercluster/wasm/ui"
)

// flowPanel is the flow view: an alluvial diagram of how the images of
// one version's clusters spread over the clusters of another (GET
// /api/flow, the sparse contingency table), laid out by ui.LayoutFlow. The
// versions default to the last two; selects choose others, a checkbox
// shows super-clusters instead of sub-clusters. Hovering a band or a
// cluster tells its counts; a click on a band lists its images.
type flowPanel struct {
	a *app

	wrap, canvas, ctx js.Value
	w, h              int

	// from and to are the versions chosen (0: the server's default, the
	// latest two); data the answer, nil before it.
	from, to int
	super    bool
	data     *flowData
	lay      *ui.FlowLayout
	// leftStyle and rightStyle name and colour lay's nodes (styles).
	leftStyle, rightStyle []ui.FlowStyle
	err                   string
	seq                   int
	loading               bool
	stale                 bool // a new version came while the view was hidden
	hoverBand             int
	dirty                 bool
	// band is the band whose images are listed (-1 none); bandIDs its
	// images as the server listed them.
	band    int
	bandIDs []int32
	bandErr string
	bandSeq int
}

// flowData is GET /api/flow's answer (deepercluster.Flow).
type flowData struct {
	from, to             int
	images               int
	fromParent, toParent []int32
	links                []ui.FlowLink
}

// Geometry of the diagram, in canvas pixels.
const (
	flowNodeW  = 14
	flowMargin = 110 // left and right, room for the names
	flowTop    = 16
	flowGap    = 4
)

func newFlowPanel(a *app) *flowPanel {
	p := &flowPanel{a: a, hoverBand: -1, band: -1}
	p.wrap = a.dom.byID("flowwrap")
	p.canvas = a.dom.byID("flow")
	p.ctx = p.canvas.Call("getContext", "2d")
	d := a.dom
	d.on(d.byID("flow-from"), "change", func(js.Value) {
		p.from = d.byID("flow-from").Get("value").Int()
		p.load()
	})
	d.on(d.byID("flow-to"), "change", func(js.Value) {
		p.to = d.byID("flow-to").Get("value").Int()
		p.load()
	})
	d.on(d.byID("flow-super"), "change", func(js.Value) {
		p.super = d.byID("flow-super").Get("checked").Bool()
		p.relayout()
	})
	d.on(p.canvas, "mousemove", func(e js.Value) { p.setHover(e.Get("offsetX").Float(), e.Get("offsetY").Float()) })
	d.on(p.canvas, "mouseleave", func(js.Value) {
		p.hoverBand = -1
		d.byID("tooltip").Set("hidden", true)
		p.dirty = true
	})
	d.on(p.canvas, "click", func(e js.Value) {
		p.openBand(p.bandAt(e.Get("offsetX").Float(), e.Get("offsetY").Float()))
	})
	d.on(js.Global(), "resize", func(js.Value) { p.resize() })
	p.bindBandGrid()
	return p
}

func (p *flowPanel) shown() bool { return p.a.m.view == viewFlow }

func (p *flowPanel) handle(ev event) {
	switch ev.(type) {
	case viewEvent:
		p.wrap.Set("hidden", !p.shown())
		if p.shown() {
			p.resize()
			p.versionOptions()
			if p.data == nil || p.stale {
				p.load()
			}
		}
	case versionEvent:
		p.versionOptions()
		if p.from == 0 && p.to == 0 {
			// The default follows the latest two versions.
			if p.shown() {
				p.load()
			} else {
				p.stale = true
			}
		}
	case notesEvent, summariesEvent:
		// Names (notes, keywords, top tags) as the treemap's.
		p.styles()
		p.dirty = true
	}
}

// versionOptions lists the versions 1..current in both selects.
func (p *flowPanel) versionOptions() {
	cur := int(p.a.m.version())
	for _, side := range []struct {
		id  string
		sel int
	}{{"flow-from", p.from}, {"flow-to", p.to}} {
		el := p.a.dom.byID(side.id)
		if el.Get("options").Get("length").Int() == cur {
			continue
		}
		html := ""
		for v := 1; v <= cur; v++ {
			html += `<option value="` + itoa(v) + `">v` + itoa(v) + "</option>"
		}
		setHTML(el, html)
	}
	p.syncSelects()
}

func (p *flowPanel) syncSelects() {
	if p.data == nil {
		return
	}
	p.a.dom.byID("flow-from").Set("value", itoa(p.data.from))
	p.a.dom.byID("flow-to").Set("value", itoa(p.data.to))
}

// load fetches the flow of the chosen versions.
func (p *flowPanel) load() {
	p.stale = false
	url := "/api/flow"
	if p.from > 0 && p.to > 0 {
		url += "?from=" + itoa(p.from) + "&to=" + itoa(p.to)
	} else if p.from > 0 || p.to > 0 {
		// One side chosen: the other is the latest version, or the one
		// before it.
		cur := int(p.a.m.version())
		from, to := p.from, p.to
		if to == 0 {
			to = cur
		}
		if from == 0 {
			from = max(1, to-1)
		}
		url += "?from=" + itoa(from) + "&to=" + itoa(to)
	}
	p.seq++
	seq := p.seq
	p.loading = true
	setText(p.a.dom.byID("flow-info"), "loading the flow…")
	p.a.fetchJSON("GET", url, "", func(status int, v js.Value, err string) {
		if seq != p.seq {
			return
		}
		p.loading = false
		if status != 200 || err != "" {
			p.err = errMsg(status, v, err)
			p.data, p.lay = nil, nil
			setText(p.a.dom.byID("flow-info"), "no flow: "+p.err)
			p.dirty = true
			return
		}
		p.err = ""
		d := &flowData{from: jsInt(v, "from"), to: jsInt(v, "to"), images: jsInt(v, "images")}
		d.fromParent = jsInt32s(v.Get("from_parent"))
		d.toParent = jsInt32s(v.Get("to_parent"))
		for _, l := range jsArr(v, "links") {
			d.links = append(d.links, ui.FlowLink{From: int32(jsInt(l, "from")), To: int32(jsInt(l, "to")), Count: jsInt(l, "count")})
		}
		p.data = d
		p.band, p.bandIDs = -1, nil
		p.a.dom.byID("flow-band").Set("hidden", true)
		p.syncSelects()
		p.relayout()
	})
}

// jsInt32s reads a JSON array of numbers.
func jsInt32s(v js.Value) []int32 {
	arr := jsArr(v, "")
	out := make([]int32, len(arr))
	for i, x := range arr {
		out[i] = int32(x.Int())
	}
	return out
}

func (p *flowPanel) relayout() {
	if p.data == nil {
		return
	}
	d := p.data
	p.lay = ui.LayoutFlow(ui.FlowInput{Links: d.links, FromParent: d.fromParent, ToParent: d.toParent, Super: p.super},
		float64(p.h-2*flowTop), flowGap)
	splits, merges := 0, 0
	for _, n := range p.lay.Left {
		if n.Major >= 2 {
			splits++
		}
	}
	for _, n := range p.lay.Right {
		if n.Major >= 2 {
			merges++
		}
	}
	level := "sub-clusters"
	if p.super {
		level = "super-clusters"
	}
	setText(p.a.dom.byID("flow-info"), "v"+itoa(d.from)+" → v"+itoa(d.to)+": "+itoa(p.lay.Total)+" images, "+
		itoa(len(p.lay.Left))+" → "+itoa(len(p.lay.Right))+" "+level+", "+itoa(splits)+" split, "+itoa(merges)+" merged")
	p.styles()
	p.hoverBand = -1
	p.dirty = true
}

func (p *flowPanel) resize() {
	w := p.canvas.Get("clientWidth").Int()
	h := p.canvas.Get("clientHeight").Int()
	if w < 1 || h < 1 || w == p.w && h == p.h {
		return
	}
	p.w, p.h = w, h
	p.canvas.Set("width", w)
	p.canvas.Set("height", h)
	p.relayout()
}

func (p *flowPanel) tick(float64) {
	if !p.shown() || !p.dirty {
		return
	}
	p.dirty = false
	p.draw()
}

// columns: the x of the left column's right edge and of the right
// column's left edge (bands run between them).
func (p *flowPanel) columns() (xl, xr float64) {
	return flowMargin + flowNodeW, float64(p.w) - flowMargin - flowNodeW
}

// styles names and colours the nodes of both columns as the treemap shows
// their clusters (ui.FlowStyles, ui.ClusterName, ui.ClusterColor); it is
// run by relayout and whenever names or colours change.
func (p *flowPanel) styles() {
	m := &p.a.m
	if p.lay == nil || p.data == nil {
		p.leftStyle, p.rightStyle = nil, nil
		return
	}
	cur := int(m.version())
	var subParent []int32
	if m.asg != nil {
		subParent = m.asg.SubParent
	}
	name := func(id int32) string {
		if p.super {
			return ""
		}
		return ui.ClusterName(m.notes[id].name, m.sums, id)
	}
	color := func(id int32) ui.Color {
		if p.super {
			return ui.SuperClusterColor(&m.stable, id)
		}
		return ui.ClusterColor(&m.stable, subParent, id)
	}
	p.leftStyle, p.rightStyle = ui.FlowStyles(p.lay, p.data.from == cur, p.data.to == cur, p.super, name, color)
}

// nodeColor is a node's colour (see styles).
func (p *flowPanel) nodeColor(n ui.FlowNode, right bool) ui.Color {
	return p.style(n, right).Color
}

// style is the style of node n of a column.
func (p *flowPanel) style(n ui.FlowNode, right bool) ui.FlowStyle {
	col, st := p.lay.Left, p.leftStyle
	if right {
		col, st = p.lay.Right, p.rightStyle
	}
	for i := range col {
		if col[i].ID == n.ID && i < len(st) {
			return st[i]
		}
	}
	return ui.FlowStyle{Name: "c" + itoa(int(n.ID)), Color: ui.SuperColor(uint32(max(n.Super, 0)))}
}

func (p *flowPanel) draw() {
	c := p.ctx
	c.Set("fillStyle", ui.Background.Hex())
	c.Call("fillRect", 0, 0, p.w, p.h)
	if p.lay == nil || p.lay.Total == 0 {
		return
	}
	xl, xr := p.columns()
	mid := (xl + xr) / 2
	for i := range p.lay.Bands {
		b := &p.lay.Bands[i]
		col := p.nodeColor(p.lay.Left[b.L], false)
		alpha := "0.42)"
		if i == p.hoverBand {
			alpha = "0.85)"
		}
		c.Set("fillStyle", "rgba("+itoa(int(col.R))+","+itoa(int(col.G))+","+itoa(int(col.B))+","+alpha)
		y0, y1 := flowTop+b.Y0, flowTop+b.Y1
		h := math.Max(b.H, 0.5)
		c.Call("beginPath")
		c.Call("moveTo", xl, y0)
		c.Call("bezierCurveTo", mid, y0, mid, y1, xr, y1)
		c.Call("lineTo", xr, y1+h)
		c.Call("bezierCurveTo", mid, y1+h, mid, y0+h, xl, y0+h)
		c.Call("closePath")
		c.Call("fill")
	}
	c.Set("font", "11px system-ui, sans-serif")
	nodes := func(ns []ui.FlowNode, x float64, right bool) {
		for _, n := range ns {
			col := p.nodeColor(n, right)
			c.Set("fillStyle", col.Hex())
			c.Call("fillRect", x, flowTop+n.Y, flowNodeW, math.Max(n.H, 1))
			if n.H < 11 {
				continue
			}
			label := p.nodeName(n, right) + " " + itoa(n.Count)
			if n.Major >= 2 {
				if right {
					label += " ⇐ merge"
				} else {
					label += " ⇒ split"
				}
			}
			c.Set("fillStyle", "#d8dce4")
			ty := flowTop + n.Y + n.H/2 + 4
			if right {
				c.Set("textAlign", "left")
				c.Call("fillText", label, x+flowNodeW+4, ty, flowMargin-8)
			} else {
				c.Set("textAlign", "right")
				c.Call("fillText", label, x-4, ty, flowMargin-8)
			}
		}
	}
	nodes(p.lay.Left, xl-flowNodeW, false)
	nodes(p.lay.Right, xr, true)
	c.Set("textAlign", "left")
}

// nodeName names a column's cluster as the treemap does (see styles).
func (p *flowPanel) nodeName(n ui.FlowNode, right bool) string {
	return p.style(n, right).Name
}

func (p *flowPanel) bandAt(x, y float64) int {
	if p.lay == nil {
		return -1
	}
	xl, xr := p.columns()
	return p.lay.HitBand((x-xl)/(xr-xl), y-flowTop)
}

func (p *flowPanel) setHover(x, y float64) {
	i := p.bandAt(x, y)
	tip := p.a.dom.byID("tooltip")
	if i != p.hoverBand {
		p.hoverBand = i
		p.dirty = true
	}
	html := ""
	if i >= 0 {
		b := &p.lay.Bands[i]
		l, r := p.lay.Left[b.L], p.lay.Right[b.R]
		html = "<b>" + esc(p.nodeName(l, false)) + " → " + esc(p.nodeName(r, true)) + "</b><br>" + itoa(b.Count) + " images: " +
			pct(float64(b.Count)/float64(l.Count)) + " of v" + itoa(p.data.from) + "'s " + itoa(l.Count) + ", " +
			pct(float64(b.Count)/float64(r.Count)) + " of v" + itoa(p.data.to) + "'s " + itoa(r.Count) + "<br><span class=muted>click to see its images</span>"
	} else if n, right, ok := p.nodeAt(x, y); ok {
		html = "<b>" + esc(p.nodeName(n, right)) + "</b> (v"
		if right {
			html += itoa(p.data.to)
		} else {
			html += itoa(p.data.from)
		}
		html += ")<br>" + itoa(n.Count) + " images"
		if n.Major >= 2 && right {
			html += ", merged from " + itoa(n.Major) + " clusters"
		} else if n.Major >= 2 {
			html += ", split into " + itoa(n.Major) + " clusters"
		}
	}
	if html == "" {
		tip.Set("hidden", true)
		return
	}
	setHTML(tip, html)
	tip.Set("hidden", false)
	left := x + 14
	if left > float64(p.w)-290 {
		left = x - 290
	}
	tip.Get("style").Set("left", ftoa(math.Max(0, left), 0)+"px")
	tip.Get("style").Set("top", ftoa(y+14, 0)+"px")
}

// nodeAt is the column cluster under the point.
func (p *flowPanel) nodeAt(x, y float64) (ui.FlowNode, bool, bool) {
	if p.lay == nil {
		return ui.FlowNode{}, false, false
	}
	xl, xr := p.columns()
	y -= flowTop
	for _, side := range []struct {
		ns    []ui.FlowNode
		x0    float64
		right bool
	}{{p.lay.Left, xl - flowNodeW, false}, {p.lay.Right, xr, true}} {
		if x < side.x0-4 || x > side.x0+flowNodeW+4 {
			continue
		}
		for _, n := range side.ns {
			if y >= n.Y && y <= n.Y+math.Max(n.H, 1) {
				return n, side.right, true
			}
		}
	}
	return ui.FlowNode{}, false, false
}

// openBand lists the images of band i: those in its older cluster in
// version from and in its newer cluster in version to (GET
// /api/flow/images, which reads the older version's assignment on the
// server).
func (p *flowPanel) openBand(i int) {
	if i < 0 || p.lay == nil {
		return
	}
	b := &p.lay.Bands[i]
	l, r := p.lay.Left[b.L], p.lay.Right[b.R]
	p.band, p.bandIDs, p.bandErr = i, nil, ""
	box := p.a.dom.byID("flow-band")
	box.Set("hidden", false)
	setText(p.a.dom.byID("flow-band-title"), p.nodeName(l, false)+" (v"+itoa(p.data.from)+") → "+p.nodeName(r, true)+" (v"+itoa(p.data.to)+"): "+itoa(b.Count)+" images")
	grid := p.a.dom.byID("flow-band-grid")
	setHTML(grid, "")
	level := "sub"
	if p.super {
		level = "super"
	}
	url := "/api/flow/images?from=" + itoa(p.data.from) + "&to=" + itoa(p.data.to) + "&level=" + level +
		"&a=" + itoa(int(l.ID)) + "&b=" + itoa(int(r.ID)) + "&limit=120"
	p.bandSeq++
	seq := p.bandSeq
	p.a.fetchJSON("GET", url, "", func(status int, v js.Value, err string) {
		if seq != p.bandSeq {
			return
		}
		if status != 200 || err != "" {
			p.bandErr = errMsg(status, v, err)
			setHTML(grid, `<span class="muted">the images of this band are not available: `+esc(p.bandErr)+"</span>")
			return
		}
		p.bandIDs = jsInt32s(v.Get("ids"))
		html := ""
		for _, id := range p.bandIDs {
			html += `<img loading="lazy" data-id="` + itoa(int(id)) + `" src="` + thumbURL(id) + `" alt="image ` + itoa(int(id)) + `">`
		}
		setHTML(grid, html)
	})
}

// bindBandGrid opens the image clicked in the band's grid.
func (p *flowPanel) bindBandGrid() {
	p.a.dom.on(p.a.dom.byID("flow-band-grid"), "click", func(e js.Value) {
		if id := e.Get("target").Call("getAttribute", "data-id"); id.Type() == js.TypeString {
			p.a.openImage(int32(js.Global().Call("parseInt", id).Int()))
		}
	})
}

//go:build js && wasm

package main

import (
	"math"
	"slices"
	"strings"
	"syscall/js"
)

// hitPx is how near, in screen pixels, the pointer must be to a point to
// hover or click it.
const hitPx = 6

// bind wires the map view's pointer: the wheel zooms, a drag pans, a
// shift-drag draws the lasso, a click selects the point's cluster (and,
// when thumbnails are shown, opens the image), a double click zooms in;
// and the lasso box's buttons.
func (p *pointsPanel) bind() {
	d := p.a.dom
	el := p.ov // the overlay is on top and takes the pointer
	d.on(js.Global(), "resize", func(js.Value) { p.resize() })
	d.on(el, "wheel", func(e js.Value) {
		e.Call("preventDefault")
		dy := e.Get("deltaY").Float()
		if e.Get("deltaMode").Int() == 1 {
			dy *= 16
		}
		p.view.ZoomAt(e.Get("offsetX").Float(), e.Get("offsetY").Float(), math.Exp(-dy*0.0015))
		p.moveNow()
	})
	d.on(el, "mousedown", func(e js.Value) {
		x, y := e.Get("offsetX").Float(), e.Get("offsetY").Float()
		p.dragging, p.moved = true, false
		p.downX, p.downY, p.lastX, p.lastY = x, y, x, y
		p.lassoing = e.Get("shiftKey").Bool()
		if p.lassoing {
			wx, wy := p.view.ToWorld(x, y)
			p.lasso = []float64{wx, wy}
		}
		el.Get("classList").Call("add", "dragging")
	})
	d.on(el, "mousemove", func(e js.Value) {
		x, y := e.Get("offsetX").Float(), e.Get("offsetY").Float()
		if !p.dragging {
			p.setHover(x, y)
			return
		}
		if math.Abs(x-p.downX)+math.Abs(y-p.downY) > 3 {
			p.moved = true
		}
		if p.lassoing {
			wx, wy := p.view.ToWorld(x, y)
			p.lasso = append(p.lasso, wx, wy)
			p.dirty = true
		} else {
			p.view.Pan(x-p.lastX, y-p.lastY)
			p.moveNow()
		}
		p.lastX, p.lastY = x, y
	})
	up := func(js.Value) {
		if !p.dragging {
			return
		}
		p.dragging = false
		el.Get("classList").Call("remove", "dragging")
		switch {
		case p.lassoing && p.moved:
			p.lassoing = false
			p.closeLasso()
		case !p.moved:
			p.lassoing = false
			p.clickAt(p.downX, p.downY)
		}
		p.lassoing = false
	}
	d.on(el, "mouseup", up)
	d.on(el, "mouseleave", func(e js.Value) {
		up(e)
		p.hover = -1
		d.byID("tooltip").Set("hidden", true)
	})
	d.on(el, "dblclick", func(e js.Value) {
		p.view.ZoomAt(e.Get("offsetX").Float(), e.Get("offsetY").Float(), 2.5)
		p.moveNow()
	})
	d.on(d.byID("resetview"), "click", func(js.Value) {
		if p.shown() {
			p.fit()
		}
	})
	d.on(d.byID("lasso-clear"), "click", func(js.Value) { p.setLasso(nil) })
	// A cluster of the lasso's list selects it.
	d.on(d.byID("lasso-clusters"), "click", func(e js.Value) {
		li := e.Get("target").Call("closest", "li")
		if li.IsNull() {
			return
		}
		if z := li.Call("getAttribute", "data-sub"); z.Type() == js.TypeString {
			p.a.selectSub(int32(js.Global().Call("parseInt", z).Int()))
		}
	})
	for _, f := range []string{"csv", "jsonl"} {
		d.on(d.byID("lasso-"+f), "click", func(js.Value) { p.export(f, true) })
	}
}

func (p *pointsPanel) moveNow() {
	p.lastMove = p.a.dom.now()
	p.dirty = true
}

// pointAt is the image drawn nearest to the screen point, or -1.
func (p *pointsPanel) pointAt(sx, sy float64) int32 {
	if p.grid == nil {
		return -1
	}
	x, y := p.view.ToWorld(sx, sy)
	r := math.Max(hitPx, p.pointSize()/2) / p.view.Scale
	if p.thumbsShown > 0 {
		r = pointsThumbPx / 2 / p.view.Scale
	}
	return p.grid.Nearest(p.layout.X, p.layout.Y, x, y, r)
}

func (p *pointsPanel) clickAt(x, y float64) {
	id := p.pointAt(x, y)
	if id < 0 {
		return
	}
	as := p.a.m.asg
	if as == nil || int(id) >= len(as.Sub) {
		return
	}
	if z := as.Sub[id]; z != p.a.m.selected {
		p.a.selectSub(z)
	}
	if p.thumbsShown > 0 {
		p.a.openImage(id)
	}
}

func (p *pointsPanel) setHover(x, y float64) {
	id := p.pointAt(x, y)
	tip := p.a.dom.byID("tooltip")
	if id != p.hover {
		p.hover = id
		if id >= 0 {
			setHTML(tip, p.tooltipHTML(id))
		}
	}
	if id < 0 {
		tip.Set("hidden", true)
		return
	}
	tip.Set("hidden", false)
	left := x + 14
	if left > float64(p.w)-290 {
		left = x - 290
	}
	tip.Get("style").Set("left", ftoa(math.Max(0, left), 0)+"px")
	tip.Get("style").Set("top", ftoa(y+14, 0)+"px")
}

// tooltipHTML: the image, its cluster's name and size and top tags.
func (p *pointsPanel) tooltipHTML(id int32) string {
	m := &p.a.m
	s := "<b>image " + itoa(int(id)) + "</b>"
	as := m.asg
	if as == nil || int(id) >= len(as.Sub) {
		return s
	}
	z := as.Sub[id]
	s += "<br>sub-cluster " + itoa(int(z)) + " in super-cluster " + itoa(int(as.Super[id]))
	if name := p.clusterName(z); name != "" {
		s += "<br><b>" + esc(name) + "</b>"
	}
	if int(z) < len(m.subSize) {
		s += "<br>" + itoa(m.subSize[z]) + " images in its cluster"
	}
	if int(z) < len(m.sums) {
		for j, t := range m.sums[z].TopTags {
			if j >= 5 {
				break
			}
			s += ` <span class="tag">#` + esc(t.Tag) + "</span>"
		}
	}
	if p.hlQuery != "" && int(z) < len(p.hl) && p.hl[z] {
		s += "<br><span class=kw>matches " + esc(p.hlQuery) + "</span>"
	}
	return s
}

// closeLasso turns the drawn lasso into the selection.
func (p *pointsPanel) closeLasso() {
	if len(p.lasso) < 6 || p.grid == nil {
		p.setLasso(nil)
		return
	}
	p.setLasso(p.lasso)
}

// setLasso selects the images inside poly (world units; nil clears).
func (p *pointsPanel) setLasso(poly []float64) {
	p.lasso = poly
	p.sel = nil
	if poly != nil && p.grid != nil {
		p.sel = p.grid.InPolygon(p.layout.X, p.layout.Y, poly)
	}
	p.exported = ""
	p.dirty = true
	p.showSelection()
}

// selectionClusters counts the lassoed images per sub-cluster, largest
// first.
func (p *pointsPanel) selectionClusters() (subs []int32, counts map[int32]int) {
	counts = map[int32]int{}
	as := p.a.m.asg
	if as == nil {
		return nil, counts
	}
	for _, id := range p.sel {
		if int(id) < len(as.Sub) {
			counts[as.Sub[id]]++
		}
	}
	for z := range counts {
		subs = append(subs, z)
	}
	slices.SortFunc(subs, func(a, b int32) int {
		if counts[a] != counts[b] {
			return counts[b] - counts[a]
		}
		return int(a - b)
	})
	return subs, counts
}

// showSelection fills the lasso box: how many images, their clusters and
// their top tags (each cluster's tag counts weighted by the share of the
// cluster inside the lasso).
func (p *pointsPanel) showSelection() {
	box := p.a.dom.byID("lassobox")
	box.Set("hidden", len(p.sel) == 0 || !p.shown())
	if len(p.sel) == 0 {
		return
	}
	m := &p.a.m
	subs, counts := p.selectionClusters()
	var b strings.Builder
	b.WriteString(itoa(len(p.sel)) + " images in " + itoa(len(subs)) + " clusters")
	setText(p.a.dom.byID("lasso-info"), b.String())
	b.Reset()
	tags := map[string]float64{}
	for i, z := range subs {
		if i < 12 {
			name := p.clusterName(z)
			if name == "" {
				name = "sub-cluster " + itoa(int(z))
			}
			b.WriteString(`<li data-sub="` + itoa(int(z)) + `">` + esc(name) + " <i>" + itoa(counts[z]) + "</i></li>")
		}
		if int(z) < len(m.sums) && int(z) < len(m.subSize) && m.subSize[z] > 0 {
			share := float64(counts[z]) / float64(m.subSize[z])
			for _, t := range m.sums[z].TopTags {
				tags[t.Tag] += share * float64(t.Count)
			}
		}
	}
	if len(subs) > 12 {
		b.WriteString("<li class=muted>and " + itoa(len(subs)-12) + " more</li>")
	}
	setHTML(p.a.dom.byID("lasso-clusters"), b.String())
	names := make([]string, 0, len(tags))
	for t := range tags {
		names = append(names, t)
	}
	slices.SortFunc(names, func(a, b string) int {
		if tags[a] != tags[b] {
			if tags[a] > tags[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	b.Reset()
	for i, t := range names {
		if i >= 10 {
			break
		}
		b.WriteString(`<span class="tag">#` + esc(t) + " <i>" + itoa(int(math.Round(tags[t]))) + "</i></span>")
	}
	if len(names) == 0 {
		b.WriteString("<span class=muted>no tags indexed</span>")
	}
	setHTML(p.a.dom.byID("lasso-tags"), b.String())
}

// export POSTs the lassoed ids to /api/export and, with download, saves
// the answer as a file.
func (p *pointsPanel) export(format string, download bool) {
	if len(p.sel) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString(`{"ids":[`)
	for i, id := range p.sel {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(itoa(int(id)))
	}
	b.WriteString("]}")
	p.exportSeq++
	seq := p.exportSeq
	msg := p.a.dom.byID("lasso-msg")
	setText(msg, "exporting "+itoa(len(p.sel))+" images…")
	p.a.fetch("POST", "/api/export?format="+format, b.String(), "text", func(status int, body js.Value) {
		if seq != p.exportSeq {
			return
		}
		if status != 200 {
			setText(msg, "export failed: HTTP "+itoa(status)+" "+body.String())
			return
		}
		p.exported = body.String()
		setText(msg, "exported "+itoa(len(p.sel))+" images as "+format)
		if download {
			blob := js.Global().Get("Blob").New([]any{body}, map[string]any{"type": "text/plain"})
			url := js.Global().Get("URL").Call("createObjectURL", blob)
			a := p.a.dom.doc.Call("createElement", "a")
			a.Set("href", url)
			a.Set("download", "selection."+format)
			a.Call("click")
			p.a.dom.once(1000, func() { js.Global().Get("URL").Call("revokeObjectURL", url) })
		}
	}, func(err string) {
		if seq == p.exportSeq {
			setText(msg, "export failed: "+err)
		}
	})
}

// screenOf is a point's position on screen (for the tests' lasso).
func (p *pointsPanel) screenOf(id int32) (float64, float64) {
	return (float64(p.layout.X[id]) - p.view.X) * p.view.Scale, (float64(p.layout.Y[id]) - p.view.Y) * p.view.Scale
}

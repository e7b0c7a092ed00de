//go:build js && wasm

package main

import (
	"math"
	"syscall/js"

	"github.com/deepercluster/deepercluster/wasm/ui"
)

// bind wires the map's pointer and keyboard, the window's resize and the
// map's buttons in the header.
func (p *mapPanel) bind() {
	d := p.a.dom
	el := p.canvasEl
	d.on(js.Global(), "resize", func(js.Value) { p.resize() })
	d.on(el, "wheel", func(e js.Value) {
		e.Call("preventDefault")
		dy := e.Get("deltaY").Float()
		if e.Get("deltaMode").Int() == 1 {
			dy *= 16
		}
		p.viewStart = 0
		p.view.ZoomAt(e.Get("offsetX").Float(), e.Get("offsetY").Float(), math.Exp(-dy*0.0015))
		p.lastMove = d.now()
		p.dirty = true
	})
	d.on(el, "mousedown", func(e js.Value) {
		p.dragging, p.moved = true, false
		p.dragX, p.dragY = e.Get("offsetX").Float(), e.Get("offsetY").Float()
		p.downX, p.downY = p.dragX, p.dragY
		el.Get("classList").Call("add", "dragging")
	})
	d.on(el, "mousemove", func(e js.Value) {
		x, y := e.Get("offsetX").Float(), e.Get("offsetY").Float()
		p.mouseX, p.mouseY = x, y
		if p.dragging {
			if math.Abs(x-p.downX)+math.Abs(y-p.downY) > 3 {
				p.moved = true
			}
			p.viewStart = 0
			p.view.Pan(x-p.dragX, y-p.dragY)
			p.dragX, p.dragY = x, y
			p.lastMove = d.now()
			p.dirty = true
			return
		}
		p.setHover(x, y)
	})
	up := func(e js.Value) {
		if !p.dragging {
			return
		}
		p.dragging = false
		el.Get("classList").Call("remove", "dragging")
		if !p.moved {
			p.clickAt(p.downX, p.downY)
		}
	}
	d.on(el, "mouseup", up)
	d.on(el, "mouseleave", func(e js.Value) {
		up(e)
		p.hover = -1
		d.byID("tooltip").Set("hidden", true)
		p.dirty = true
	})
	d.on(el, "dblclick", func(e js.Value) {
		if n := p.hit(e.Get("offsetX").Float(), e.Get("offsetY").Float()); n >= 0 {
			p.zoomTo(p.tree.Nodes[n].Rect)
		}
	})
	d.on(el, "keydown", func(e js.Value) {
		switch e.Get("key").String() {
		case "0", "Home":
			p.zoomTo(p.bounds)
		case "+", "=":
			p.view.ZoomAt(float64(p.canvas.W)/2, float64(p.canvas.H)/2, 1.25)
			p.dirty = true
		case "-":
			p.view.ZoomAt(float64(p.canvas.W)/2, float64(p.canvas.H)/2, 0.8)
			p.dirty = true
		}
	})
	d.on(d.byID("resetview"), "click", func(js.Value) { p.zoomTo(p.bounds) })
	for _, m := range []ui.Mode{ui.ModeSuperClusters, ui.ModeSuperClasses} {
		d.on(d.byID("mode-"+m.String()), "click", func(js.Value) { p.setMode(m) })
	}
}

func (p *mapPanel) clickAt(x, y float64) {
	n := p.hit(x, y)
	p.canvasEl.Call("focus")
	if n < 0 {
		return
	}
	if nd := p.tree.Nodes[n]; nd.Level == ui.LevelSub {
		if nd.Sub != p.a.m.selected {
			p.a.selectSub(nd.Sub)
		}
		// A click on a photo of the wall opens it.
		if id := p.wallImage(x, y); id >= 0 {
			p.a.openImage(id)
		}
	}
}

func (p *mapPanel) setHover(x, y float64) {
	n := p.hit(x, y)
	tip := p.a.dom.byID("tooltip")
	if n != p.hover {
		p.hover = n
		p.dirty = true
		if n >= 0 {
			setHTML(tip, p.tooltipHTML(n))
		}
	}
	if n < 0 {
		tip.Set("hidden", true)
		return
	}
	tip.Set("hidden", false)
	left := x + 14
	if left > float64(p.canvas.W)-290 {
		left = x - 290
	}
	tip.Get("style").Set("left", ftoa(math.Max(0, left), 0)+"px")
	tip.Get("style").Set("top", ftoa(y+14, 0)+"px")
}

// tooltipHTML: size, top tags and the share of the top tag.
func (p *mapPanel) tooltipHTML(i int32) string {
	m := &p.a.m
	n := &p.tree.Nodes[i]
	s := ""
	if n.Level == ui.LevelSub {
		s = "<b>sub-cluster " + itoa(int(n.Sub)) + "</b> in super-cluster " + itoa(int(n.Super))
		if nt, ok := m.notes[n.Sub]; ok && nt.name != "" {
			s = "<b>" + esc(nt.name) + "</b>" + esc(verdictMark(nt.verdict)) + "<br>" + s
		}
		if n.Rot >= 0 {
			s += " (super-class " + itoa(90*int(n.Rot)) + "°)"
		}
		size := m.subSize[n.Sub]
		s += "<br>" + itoa(size) + " images"
		if ss := m.superSize[n.Super]; ss > 0 {
			s += " (" + pct(float64(size)/float64(ss)) + " of its super-cluster)"
		}
		if int(n.Sub) < len(m.sums) && len(m.sums[n.Sub].TopTags) > 0 {
			cs := m.sums[n.Sub]
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
		if p.hlQuery != "" && int(n.Sub) < len(p.style.Highlight) && p.style.Highlight[n.Sub] {
			s += "<br><span class=kw>matches " + esc(p.hlQuery) + "</span>"
		}
		return s
	}
	s = "<b>super-cluster " + itoa(int(n.Super)) + "</b>"
	if n.Level == ui.LevelRotation {
		s += ", super-class rotated " + itoa(90*int(n.Rot)) + "° (class " + itoa(4*int(n.Super)+int(n.Rot)) + ")"
	}
	s += "<br>" + itoa(m.superSize[n.Super]) + " images"
	return s
}

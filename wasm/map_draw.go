//go:build js && wasm

package main

import (
	"math"
	"syscall/js"

	"github.com/deepercluster/deepercluster/wasm/ui"
)

// render draws one frame: the map and the photo walls of large cells into
// the Go buffer, one copy to the canvas, then the few labels.
func (p *mapPanel) render() {
	now := p.a.dom.now
	t0 := now()
	p.dirty = false
	p.style.T = 1
	if p.animStart > 0 {
		f := (t0 - p.animStart) / layoutAnimMs
		if f >= 1 {
			p.animStart = 0
		} else {
			p.style.T = ui.Ease(f)
		}
	}
	if p.viewStart > 0 {
		f := (t0 - p.viewStart) / zoomAnimMs
		if f >= 1 {
			p.viewStart = 0
			p.view = p.viewTo
		} else {
			p.view = ui.LerpView(p.viewFrom, p.viewTo, float64(p.canvas.W), float64(p.canvas.H), ui.Ease(f))
		}
		p.lastMove = t0
	}
	p.style.Hover = p.hover
	p.style.Selected = -1
	if sel := p.a.m.selected; p.tree != nil && sel >= 0 && int(sel) < len(p.tree.SubNode) {
		p.style.Selected = p.tree.SubNode[sel]
	}
	p.stats, p.big = ui.Draw(p.canvas, p.tree, p.view, &p.style, p.big)
	p.drawWalls()
	t1 := now()
	js.CopyBytesToJS(p.u8, p.canvas.Pix)
	p.ctx.Call("putImageData", p.imgData, 0, 0)
	t2 := now()
	p.overlay()
	settled := p.viewStart == 0 && t0-p.lastMove > thumbSettleMs
	p.thumbsWanted = len(p.thumbs.want) > 0
	if settled {
		p.fetchThumbs()
	}
	t3 := now()
	p.phaseMs = [3]float64{t1 - t0, t2 - t1, t3 - t2}
	p.lastMs = t3 - t0
	p.frames++
}

// overlay writes the labels of cells that are large on screen: a few dozen
// canvas calls, never one per cluster. A cell with a photo wall gets its
// label over the images.
func (p *mapPanel) overlay() {
	p.labels = p.labels[:0]
	if p.tree == nil || len(p.big) == 0 {
		return
	}
	c := p.ctx
	c.Set("font", "11px system-ui, sans-serif")
	c.Set("textBaseline", "top")
	labels := 0
	settled := p.viewStart == 0 && p.a.dom.now()-p.lastMove > thumbSettleMs
	// Text is the costly part of the overlay: fewer labels while moving.
	maxLabels := 60
	if settled {
		maxLabels = 250
	}
	for _, b := range p.big {
		n := &p.tree.Nodes[b.Node]
		x0, y0 := math.Max(b.X0, 0), math.Max(b.Y0, 0)
		x1, y1 := math.Min(b.X1, float64(p.canvas.W)), math.Min(b.Y1, float64(p.canvas.H))
		w, h := x1-x0, y1-y0
		if w < 40 || h < 14 {
			continue
		}
		if labels >= maxLabels {
			continue
		}
		var label string
		named := false
		if n.Level == ui.LevelSub {
			if w < 60 || h < 16 {
				continue
			}
			label, named = p.subLabel(n.Sub)
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
		p.labels = append(p.labels, label)
		c.Set("fillStyle", "rgba(0,0,0,.6)")
		c.Call("fillRect", x0+2, y0+2, math.Min(w-4, 6.5*float64(len(label))+6), 14)
		c.Set("fillStyle", "#fff")
		if named {
			c.Set("fillStyle", "#ffd640")
		}
		c.Call("fillText", label, x0+5, y0+3)
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

// subLabel names a cell as every view does (ui.ClusterName: the name a
// user gave it, named true, else its best c-TF-IDF keyword, else its most
// frequent tag), with its size.
func (p *mapPanel) subLabel(z int32) (label string, named bool) {
	m := &p.a.m
	size := " · " + itoa(m.subSize[z])
	if n, ok := m.notes[z]; ok && n.name != "" {
		return n.name + verdictMark(n.verdict) + size, true
	}
	if name := ui.ClusterName("", m.sums, z); name != "" {
		return name + size, false
	}
	return "sub " + itoa(int(z)) + size, false
}

// verdictMark is a short sign of a note's verdict.
func verdictMark(v string) string {
	switch v {
	case "good":
		return " ✓"
	case "mixed":
		return " ~"
	case "bad":
		return " ✗"
	}
	return ""
}

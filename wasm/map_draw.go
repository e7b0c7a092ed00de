//go:build js && wasm

package main

import (
	"math"
	"syscall/js"

	"github.com/deepercluster/deepercluster/wasm/ui"
)

// render draws one frame: the map into the Go buffer, one copy to the
// canvas, then the few labels and thumbnails of large cells.
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
	t1 := now()
	js.CopyBytesToJS(p.u8, p.canvas.Pix)
	p.ctx.Call("putImageData", p.imgData, 0, 0)
	t2 := now()
	p.overlay()
	t3 := now()
	p.phaseMs = [3]float64{t1 - t0, t2 - t1, t3 - t2}
	p.lastMs = t3 - t0
	p.frames++
}

// overlay writes labels and draws thumbnails on cells that are large on
// screen: a few dozen canvas calls, never one per cluster.
func (p *mapPanel) overlay() {
	if p.tree == nil || len(p.big) == 0 {
		return
	}
	c := p.ctx
	c.Set("font", "11px system-ui, sans-serif")
	c.Set("textBaseline", "top")
	thumbs, labels := 0, 0
	p.thumbsWanted = false
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
		if n.Level == ui.LevelSub {
			if w < 60 || h < 16 {
				continue
			}
			label = p.subLabel(n.Sub)
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
		ids := p.members[p.memStart[n.Sub]:p.memStart[n.Sub+1]]
		for j := 0; j < k && j < len(ids); j++ {
			img, ok := p.thumbs[ids[j]]
			if !ok {
				if !settled {
					p.thumbsWanted = true
					continue
				}
				img = p.thumb(ids[j])
			}
			if !img.Get("complete").Bool() || img.Get("naturalWidth").Int() == 0 {
				continue
			}
			// Photos are rarely square: draw the centre square of the
			// image into the square cell rather than squash it.
			nw, nh := img.Get("naturalWidth").Float(), img.Get("naturalHeight").Float()
			side := math.Min(nw, nh)
			sx, sy := (nw-side)/2, (nh-side)/2
			x := x0 + 4 + float64(j%cols)*(s+2)
			y := y0 + 20 + float64(j/cols)*(s+2)
			if n.Rot > 0 {
				c.Call("save")
				c.Call("translate", x+s/2, y+s/2)
				c.Call("rotate", float64(n.Rot)*math.Pi/2)
				c.Call("drawImage", img, sx, sy, side, side, -s/2, -s/2, s, s)
				c.Call("restore")
			} else {
				c.Call("drawImage", img, sx, sy, side, side, x, y, s, s)
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
func (p *mapPanel) thumb(id int32) js.Value {
	if img, ok := p.thumbs[id]; ok {
		return img
	}
	if len(p.thumbs) > 4000 {
		p.thumbs = map[int32]js.Value{}
	}
	img := js.Global().Get("Image").New()
	img.Set("onload", p.thumbOK)
	img.Set("src", thumbURL(id))
	p.thumbs[id] = img
	return img
}

// subLabel names a cell by its best c-TF-IDF keyword (what sets it apart),
// falling back to its most frequent tag.
func (p *mapPanel) subLabel(z int32) string {
	m := &p.a.m
	if int(z) < len(m.sums) {
		if cs := m.sums[z]; len(cs.Keywords) > 0 {
			return "#" + cs.Keywords[0] + " · " + itoa(m.subSize[z])
		} else if len(cs.TopTags) > 0 {
			return "#" + cs.TopTags[0].Tag + " · " + itoa(m.subSize[z])
		}
	}
	return "sub " + itoa(int(z)) + " · " + itoa(m.subSize[z])
}

//go:build js && wasm

package main

import (
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

// mapPanel is the treemap canvas with its controls (the mode buttons and
// "fit" in the header) and its tooltip: the layout of the current version,
// the view (pan and zoom), drawing, thumbnails and the pointer.
type mapPanel struct {
	a *app

	// Layout and view.
	mode      ui.Mode
	tree      *ui.Treemap
	bounds    ui.Rect
	animStart float64
	view      ui.View
	viewFrom  ui.View
	viewTo    ui.View
	viewStart float64 // 0: no zoom transition

	// Image ids of sub-cluster z, for thumbnails:
	// members[memStart[z]:memStart[z+1]].
	memStart []int32
	members  []int32
	// hlQuery is the search whose hits are highlighted (style.Highlight).
	hlQuery string

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
	frames   int
	lastMs   float64    // time to draw the last frame
	phaseMs  [3]float64 // of which: raster and photo walls, copy to the canvas, labels
	// labels are the texts of the cells labelled in the last frame.
	labels []string
	// lastMove is when the view last changed; thumbnails are only
	// requested once it has been still for a moment, so a fast pan does
	// not start hundreds of downloads. thumbsWanted notes that some were
	// held back.
	lastMove     float64
	thumbsWanted bool

	// The photo walls of the last frame, and their thumbnails.
	walls  []wallOnScreen
	wall   wallStats
	thumbs thumbStore

	// Pointer.
	dragging       bool
	dragX, dragY   float64
	downX, downY   float64
	moved          bool
	hover          int32
	mouseX, mouseY float64
}

func newMapPanel(a *app) *mapPanel {
	p := &mapPanel{a: a, hover: -1}
	p.thumbs.init()
	p.style = ui.Style{T: 1, Hover: -1, Selected: -1, MinBig: 44, MaxBig: 400}
	p.canvasEl = a.dom.byID("map")
	p.ctx = p.canvasEl.Call("getContext", "2d", map[string]any{"alpha": false})
	p.canvas = ui.NewCanvas(1, 1)
	p.resize()
	p.bind()
	return p
}

func (p *mapPanel) handle(ev event) {
	switch e := ev.(type) {
	case versionEvent:
		if e.fresh {
			p.tree = nil
		}
		as := p.a.m.asg
		p.memStart, p.members = deepercluster.GroupByLabel(as.Sub, len(as.SubParent), p.memStart, p.members)
		p.buildTree(true, e.superMatch, e.subMatch)
		// The hovered cell's tooltip described the old version.
		p.hover = -1
		p.a.dom.byID("tooltip").Set("hidden", true)
	case highlightEvent:
		p.hlQuery = e.query
		p.style.Highlight, p.style.HighlightSuper = e.subs, e.super
		p.dirty = true
	case focusEvent:
		p.focus(e.super, e.sub)
	case navEvent:
		p.nav(e)
	case runEvent:
		p.thumbs.res = max(p.thumbs.res, p.a.m.run.Resolution)
		if e.first {
			p.askThumbSize()
		}
	case viewEvent:
		p.canvasEl.Set("hidden", p.a.m.view != viewTreemap)
		if p.a.m.view == viewTreemap {
			p.resize()
			p.dirty = true
		}
	case selectEvent, summariesEvent, notesEvent:
		p.dirty = true
	}
}

// nav selects the sibling step places from the selected sub-cluster in the
// map's order (the cells of its super-cluster, largest first), or zooms to
// the selected one. With nothing selected, an arrow selects the first
// sub-cluster of the first super-cluster.
func (p *mapPanel) nav(e navEvent) {
	t := p.tree
	if t == nil || len(t.SubNode) == 0 {
		return
	}
	sel := p.a.m.selected
	if e.open {
		if sel >= 0 && int(sel) < len(t.SubNode) {
			p.focus(-1, sel)
		}
		return
	}
	if sel < 0 || int(sel) >= len(t.SubNode) {
		root := &t.Nodes[0]
		for root.Count > 0 && root.Level != ui.LevelSub {
			root = &t.Nodes[root.First]
		}
		p.a.selectSub(root.Sub)
		return
	}
	// The parent is the node whose children hold the selected cell.
	self := t.SubNode[sel]
	for i := range t.Nodes {
		n := &t.Nodes[i]
		if n.Count > 0 && self >= n.First && self < n.First+n.Count {
			k := (int(self-n.First) + e.step) % int(n.Count)
			if k < 0 {
				k += int(n.Count)
			}
			p.a.selectSub(t.Nodes[n.First+int32(k)].Sub)
			p.dirty = true
			return
		}
	}
}

func (p *mapPanel) tick(ts float64) {
	if p.a.m.view != viewTreemap {
		return // another view is on screen
	}
	if p.thumbsWanted && ts-p.lastMove > thumbSettleMs {
		p.dirty = true
	}
	if !p.dirty && p.animStart == 0 && p.viewStart == 0 {
		return
	}
	p.render()
}

// resize matches the pixel buffer to the canvas' size on the page and lays
// the map out again for the new shape.
func (p *mapPanel) resize() {
	w := p.canvasEl.Get("clientWidth").Int()
	h := p.canvasEl.Get("clientHeight").Int()
	if w < 1 || h < 1 {
		w, h = 800, 600
	}
	if w == p.canvas.W && h == p.canvas.H {
		return
	}
	p.canvasEl.Set("width", w)
	p.canvasEl.Set("height", h)
	p.canvas.Resize(w, h)
	p.imgData = p.ctx.Call("createImageData", w, h)
	p.u8 = js.Global().Get("Uint8Array").New(p.imgData.Get("data").Get("buffer"))
	p.bounds = ui.R(0, 0, float64(w), float64(h))
	if p.a.m.asg != nil {
		p.buildTree(false, nil, nil)
	}
	p.view = ui.Fit(p.bounds, float64(w), float64(h), 0)
	p.viewStart = 0
	p.dirty = true
}

// buildTree lays the current Assignment out; with animate, cells move from
// where their matched clusters were (nil matches mean the same ids).
func (p *mapPanel) buildTree(animate bool, superMatch, subMatch []int32) {
	m := &p.a.m
	as := m.asg
	in := ui.Input{M: as.M, SubParent: as.SubParent, SuperSize: m.superSize, SubSize: m.subSize,
		SuperRank: m.stable.SuperRank, SubRank: m.stable.SubRank, SuperKey: m.stable.SuperKey, SubKey: m.stable.SubKey}
	t := ui.Build(in, p.bounds, p.mode)
	if animate && p.tree != nil {
		t.AnimateFrom(p.tree, superMatch, subMatch)
		p.animStart = p.a.dom.now()
	} else {
		p.animStart = 0
	}
	p.tree = t
	p.dirty = true
}

// setMode switches between nesting sub-clusters in super-clusters and in
// the four rotation super-classes, animating cells to their new places.
func (p *mapPanel) setMode(m ui.Mode) {
	for _, o := range []ui.Mode{ui.ModeSuperClusters, ui.ModeSuperClasses} {
		cl := p.a.dom.byID("mode-" + o.String()).Get("classList")
		if o == m {
			cl.Call("add", "active")
		} else {
			cl.Call("remove", "active")
		}
	}
	if m == p.mode {
		return
	}
	p.mode = m
	if p.a.m.asg != nil {
		p.buildTree(true, nil, nil)
	}
}

// zoomTo moves the view smoothly so that r fills most of the screen.
func (p *mapPanel) zoomTo(r ui.Rect) {
	p.viewFrom = p.view
	p.viewTo = ui.Fit(r, float64(p.canvas.W), float64(p.canvas.H), 24)
	p.viewStart = p.a.dom.now()
	p.dirty = true
}

// focus zooms to sub-cluster sub and selects it, or with sub -1 zooms to
// super-cluster super.
func (p *mapPanel) focus(super, sub int32) {
	t := p.tree
	if t == nil {
		return
	}
	if sub >= 0 && int(sub) < len(t.SubNode) {
		p.zoomTo(t.Nodes[t.SubNode[sub]].Rect)
		p.a.selectSub(sub)
	} else if super >= 0 && int(super) < len(t.SuperNode) {
		p.zoomTo(t.Nodes[t.SuperNode[super]].Rect)
	}
}

func (p *mapPanel) hit(sx, sy float64) int32 {
	if p.tree == nil {
		return -1
	}
	x, y := p.view.ToWorld(sx, sy)
	return p.tree.Hit(x, y)
}

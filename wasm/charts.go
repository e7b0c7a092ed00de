//go:build js && wasm

package main

import (
	"math"
	"syscall/js"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wasm/ui"
)

// chartsPanel draws the live training charts: the two heads' loss and
// precision per step, and the stability and label NMI per reclustering.
type chartsPanel struct {
	a                                  *app
	lossSup, lossSub, precSup, precSub []float64
	stab, label                        []float64
	metVersion                         uint32 // version of the last metrics point
	dirty                              bool
	last                               float64
	canvas                             *ui.Canvas
}

func newChartsPanel(a *app) *chartsPanel { return &chartsPanel{a: a} }

func (c *chartsPanel) handle(ev event) {
	m := &c.a.m
	switch ev.(type) {
	case progressEvent:
		if p := m.progress; p.Phase == deepercluster.PhaseTraining {
			c.lossSup = push(c.lossSup, p.LossSuper)
			c.lossSub = push(c.lossSub, p.LossSub)
			c.precSup = push(c.precSup, p.PrecSuper)
			c.precSub = push(c.precSub, p.PrecSub)
			c.dirty = true
		}
	case metricsEvent:
		if m.metrics.Version <= c.metVersion && m.metrics.Version != 0 {
			return // already in the history
		}
		c.metVersion = m.metrics.Version
		c.stab = append(c.stab, m.metrics.StabilityNMI)
		c.label = append(c.label, m.metrics.LabelNMI)
		c.dirty = true
	case historyEvent:
		h := m.history
		c.lossSup, c.lossSub, c.precSup, c.precSub = nil, nil, nil, nil
		for _, p := range h.Steps {
			c.lossSup = push(c.lossSup, p.LossSuper)
			c.lossSub = push(c.lossSub, p.LossSub)
			c.precSup = push(c.precSup, p.PrecSuper)
			c.precSub = push(c.precSub, p.PrecSub)
		}
		c.stab, c.label, c.metVersion = nil, nil, 0
		for _, mm := range h.Metrics {
			c.stab = append(c.stab, mm.StabilityNMI)
			c.label = append(c.label, mm.LabelNMI)
			c.metVersion = mm.Version
		}
		c.dirty = true
	}
}

const maxChartPoints = 600

// push appends v, halving the history when it gets long so the chart keeps
// the whole run at a bounded cost.
func push(s []float64, v float64) []float64 {
	s = append(s, v)
	if len(s) > maxChartPoints {
		h := s[:0]
		for i := 0; i+1 < len(s); i += 2 {
			h = append(h, (s[i]+s[i+1])/2)
		}
		s = h
	}
	return s
}

var (
	blue   = ui.Color{R: 90, G: 176, B: 255, A: 255}
	orange = ui.Color{R: 255, G: 159, B: 67, A: 255}
	green  = ui.Color{R: 76, G: 207, B: 122, A: 255}
)

// tick redraws the charts at most four times a second.
func (c *chartsPanel) tick(ts float64) {
	if !c.dirty || ts-c.last < 250 {
		return
	}
	c.dirty, c.last = false, ts
	if c.canvas == nil {
		c.canvas = ui.NewCanvas(300, 56)
	}
	d := c.a.dom
	last := func(s []float64) string {
		for i := len(s) - 1; i >= 0; i-- {
			if !math.IsNaN(s[i]) {
				return ftoa(s[i], 3)
			}
		}
		return "–"
	}
	draw := func(id, lbl string, series []ui.Series, lo, hi float64, text string) {
		el := d.byID(id)
		w, h := el.Get("width").Int(), el.Get("height").Int()
		c.canvas.Resize(w, h)
		c.canvas.LineChart(series, lo, hi)
		ctx := el.Call("getContext", "2d")
		img := ctx.Call("createImageData", w, h)
		js.CopyBytesToJS(js.Global().Get("Uint8Array").New(img.Get("data").Get("buffer")), c.canvas.Pix)
		ctx.Call("putImageData", img, 0, 0)
		setText(d.byID(lbl), text)
	}
	draw("chart-loss", "lbl-loss", []ui.Series{{Values: c.lossSup, Color: blue}, {Values: c.lossSub, Color: orange}}, 0, 0,
		last(c.lossSup)+" / "+last(c.lossSub))
	draw("chart-prec", "lbl-prec", []ui.Series{{Values: c.precSup, Color: blue}, {Values: c.precSub, Color: orange}}, 0, 1,
		last(c.precSup)+" / "+last(c.precSub))
	draw("chart-stab", "lbl-stab", []ui.Series{{Values: c.stab, Color: green}}, 0, 1, last(c.stab))
	lt := last(c.label)
	if m := &c.a.m; m.haveRun && !m.run.Labels {
		lt = "no labels in this dataset"
	}
	draw("chart-label", "lbl-label", []ui.Series{{Values: c.label, Color: green}}, 0, 1, lt)
}

//go:build js && wasm

package main

import (
	"math"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wasm/ui"
)

// headerPanel is the top line: the connection state, the run's dataset,
// parameters and compute device, the version on screen, the trainer's phase and progress bar.
type headerPanel struct {
	a *app
}

func newHeaderPanel(a *app) *headerPanel { return &headerPanel{a: a} }

func (p *headerPanel) handle(ev event) {
	switch e := ev.(type) {
	case connEvent:
		el := p.a.dom.byID("conn")
		el.Set("className", "conn "+e.class)
		setText(el, e.text)
	case runEvent, versionEvent, progressEvent:
		p.update()
	}
}

func (p *headerPanel) update() {
	m := &p.a.m
	d := p.a.dom
	r := m.run
	s := r.Dataset + " · " + itoa(r.Images) + " images · " + string(r.Params.Preset) +
		" m=" + itoa(r.Params.M) + " k=" + itoa(r.Params.K) + " T=" + itoa(r.Params.ReclusterEvery)
	if dm, dk := r.Params.Preset.ShapeFor(r.Images); r.Images > 0 && dm == r.Params.M && dk == r.Params.K {
		// Say where m and k came from (deepercluster.Preset.ShapeFor).
		s += " (default for " + itoa(r.Images) + " images)"
	}
	s += " · version " + itoa(int(m.version()))
	if m.asg != nil && len(m.asg.SubParent) > 0 {
		s += " · " + itoa(len(m.asg.SubParent)) + " sub-clusters of ~" + itoa((r.Images+len(m.asg.SubParent)/2)/len(m.asg.SubParent)) + " images"
	}
	if dev := ui.DeviceLabel(r.Device.Kind, r.Device.Name, r.Device.MemoryBytes); dev != "" {
		s += " · " + dev
	}
	setText(d.byID("runinfo"), s)
	pr := m.progress
	ph := string(pr.Phase)
	if pr.Phase == deepercluster.PhaseTraining && pr.Epochs > 0 {
		ph += " · epoch " + itoa(pr.Epoch) + "/" + itoa(pr.Epochs)
		if pr.Steps > 0 {
			ph += " · step " + itoa(pr.Step) + "/" + itoa(pr.Steps)
		}
		if pr.ImagesPerSec > 0 {
			ph += " · " + ftoa(pr.ImagesPerSec, 0) + " img/s"
		}
	}
	setText(d.byID("phase"), ph)
	done := pr.Done
	if math.IsNaN(done) {
		done = 0
	}
	d.byID("progressbar").Get("style").Set("width", ftoa(100*math.Max(0, math.Min(1, done)), 1)+"%")
}

//go:build js && wasm

package main

import (
	"strconv"
	"strings"
	"syscall/js"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wasm/ui"
)

// reclusterPanel is the form that asks the server for a reclustering with
// new parameters, checked on the page with the server's own validation,
// and follows the job until its version arrives.
type reclusterPanel struct {
	a       *app
	edited  bool // the user changed a field: new run info does not overwrite it
	pending bool
	from    uint32
	msg     string
	field   string
}

var rcFields = []struct{ id, field string }{
	{"rc-preset", "preset"}, {"rc-m", "m"}, {"rc-k", "k"}, {"rc-t", "recluster_every"}, {"rc-pca", "pca_dim"},
}

func newReclusterPanel(a *app) *reclusterPanel {
	p := &reclusterPanel{a: a}
	d := a.dom
	for _, f := range rcFields {
		d.on(d.byID(f.id), "input", func(js.Value) { p.edited = true })
	}
	d.on(d.byID("reclusterform"), "submit", func(e js.Value) {
		e.Call("preventDefault")
		p.submit()
	})
	return p
}

func (p *reclusterPanel) handle(ev event) {
	switch e := ev.(type) {
	case runEvent:
		if e.first || !p.edited {
			p.fill()
		}
	case progressEvent:
		p.update()
	case versionEvent:
		if v := p.a.m.version(); p.pending && v > p.from {
			p.pending = false
			p.edited = false
			p.msg = "version " + itoa(int(v)) + " arrived"
		}
		p.update()
	}
}

func (p *reclusterPanel) fill() {
	r := p.a.m.run.Params
	d := p.a.dom
	if r.Preset != "" {
		d.byID("rc-preset").Set("value", string(r.Preset))
	}
	d.byID("rc-m").Set("value", itoa(r.M))
	d.byID("rc-k").Set("value", itoa(r.K))
	d.byID("rc-t").Set("value", itoa(r.ReclusterEvery))
	d.byID("rc-pca").Set("value", itoa(r.PCADim))
}

// params reads the form, naming the first field that is not a number.
func (p *reclusterPanel) params() (deepercluster.RunParams, error) {
	d := p.a.dom
	num := func(id, field string) (int, error) {
		v := strings.TrimSpace(d.byID(id).Get("value").String())
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, &deepercluster.FieldError{Field: field, Msg: "must be a whole number, got \"" + v + "\""}
		}
		return n, nil
	}
	var r deepercluster.RunParams
	r.Preset = deepercluster.Preset(d.byID("rc-preset").Get("value").String())
	var err error
	if r.M, err = num("rc-m", "m"); err != nil {
		return r, err
	}
	if r.K, err = num("rc-k", "k"); err != nil {
		return r, err
	}
	if r.ReclusterEvery, err = num("rc-t", "recluster_every"); err != nil {
		return r, err
	}
	if r.PCADim, err = num("rc-pca", "pca_dim"); err != nil {
		return r, err
	}
	// The same checks as the server, from the same code.
	return r, r.Validate(p.a.m.run.Images)
}

func (p *reclusterPanel) submit() {
	if p.busy() {
		return
	}
	r, err := p.params()
	p.field = ""
	if err != nil {
		if fe, ok := err.(*deepercluster.FieldError); ok {
			p.field = fe.Field
		}
		p.msg = "invalid: " + err.Error()
		p.update()
		return
	}
	body := ui.NewObj().Str("preset", string(r.Preset)).Int("m", int64(r.M)).Int("k", int64(r.K)).
		Int("recluster_every", int64(r.ReclusterEvery)).Int("pca_dim", int64(r.PCADim)).String()
	p.pending = true
	p.from = p.a.m.version()
	p.msg = "sending…"
	p.update()
	p.a.fetchJSON("POST", "/api/recluster", body, func(status int, v js.Value, err string) {
		switch {
		case status == 202:
			p.msg = "job " + itoa(jsInt(v, "id")) + " accepted: reclustering after version " + itoa(int(p.from)) + "…"
			p.watch()
		case status == 409:
			p.msg = "a reclustering is already running: " + errMsg(status, v, err)
			p.watch()
		default:
			p.pending = false
			p.msg = "refused: " + errMsg(status, v, err)
			if f := jsStr(v, "field"); f != "" {
				p.field = f
			}
		}
		p.update()
	})
}

// watch asks the server every few seconds whether the job still runs, so
// the form comes back even if its version never arrives (a failed job).
func (p *reclusterPanel) watch() {
	p.a.dom.once(3000, func() {
		if !p.pending {
			return
		}
		p.a.fetchJSON("GET", "/api/run", "", func(status int, v js.Value, err string) {
			if !p.pending {
				return
			}
			if status == 200 && err == "" {
				job := v.Get("job")
				done := job.Type() != js.TypeObject || jsStr(job, "state") != "running"
				// A finished job whose version has not reached us yet:
				// its delta is on the way.
				if done && job.Type() == js.TypeObject && jsInt(job, "version") > int(p.a.m.version()) {
					done = false
				}
				if done {
					p.pending = false
					if p.a.m.version() <= p.from {
						p.msg = "the job ended without a new version"
					}
					p.update()
					return
				}
			}
			p.watch()
		})
	})
}

// busy: a job was accepted and its version has not arrived, or the run is
// in one of the reclustering phases.
func (p *reclusterPanel) busy() bool {
	if p.pending {
		return true
	}
	switch p.a.m.progress.Phase {
	case deepercluster.PhaseExtracting, deepercluster.PhasePCA, deepercluster.PhaseLevel1, deepercluster.PhaseLevel2:
		return true
	}
	return false
}

var phaseNames = map[deepercluster.Phase]string{
	deepercluster.PhaseExtracting: "extracting features",
	deepercluster.PhasePCA:        "PCA",
	deepercluster.PhaseLevel1:     "k-means level 1",
	deepercluster.PhaseLevel2:     "k-means level 2",
}

func (p *reclusterPanel) update() {
	d := p.a.dom
	busy := p.busy()
	for _, f := range rcFields {
		el := d.byID(f.id)
		el.Set("disabled", busy)
		if f.field == p.field {
			el.Get("classList").Call("add", "invalid")
		} else {
			el.Get("classList").Call("remove", "invalid")
		}
	}
	d.byID("rc-go").Set("disabled", busy)
	msg := p.msg
	pr := p.a.m.progress
	if name, ok := phaseNames[pr.Phase]; ok {
		msg = "running: " + name + " (" + pct(pr.Done) + ")"
	}
	cls := "muted"
	if strings.HasPrefix(msg, "invalid") || strings.HasPrefix(msg, "refused") {
		cls = "err"
	}
	el := d.byID("rc-msg")
	el.Set("className", cls)
	setText(el, msg)
}

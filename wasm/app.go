//go:build js && wasm

package main

import (
	"syscall/js"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wasm/ui"
	"github.com/deepercluster/deepercluster/wire"
)

// app is the client's core: the websocket, the model built from the
// server's frames, and the panels it tells about every change (see panel
// in events.go). JavaScript runs callbacks one at a time on the page's
// event loop and the client starts no goroutines, so no locks.
type app struct {
	dom   *dom
	sock  *socket
	token string
	m     model

	// The panels' handle and tick methods. They are kept as method values,
	// not as []panel: a panel stored in an interface makes the linker keep
	// the methods of every type its fields reach (time.Time's formatting,
	// through the model), some 20 KB of the gzipped client.
	handlers []func(event)
	tickers  []func(ts float64) // in drawing order
	rafFunc  js.Func

	decodeMs float64 // time to decode the last frame from the server
	layoutMs float64 // time to match and lay out the last Assignment version
	lastErr  string
	notesSeq int // answers to older notes requests are ignored
}

// model is what the server told the client, and the selection: shared by
// the panels, which read it; only the core writes it.
type model struct {
	run       deepercluster.RunInfo
	haveRun   bool
	runHash   uint32
	asg       *deepercluster.Assignment
	sums      []deepercluster.ClusterSummary // by sub id; Size 0 when unknown
	superSize []int
	subSize   []int
	// stable carries cluster identity (placement and colour) across
	// versions.
	stable   ui.Stable
	versions int // Assignment versions received
	progress deepercluster.Progress
	metrics  *deepercluster.Metrics // the latest, nil before the first
	history  *deepercluster.History // the run's history when this connection began
	selected int32                  // sub-cluster, -1 none
	// image is the image shown in the image view, -1 none.
	image int32
	// notes are the users' notes by sub-cluster of the current version
	// (from GET /api/clusters); notesVersion the version they belong to.
	notes        map[int32]clusterNote
	notesVersion uint32
	// layout is the 2D map of the latest version the server laid out
	// (Layout frames, refined by LayoutDelta frames); nil before the
	// first. layoutProgress is how far the server is with the next one.
	layout         *deepercluster.Layout
	layoutProgress deepercluster.LayoutProgress
	layoutPending  bool // a LayoutProgress came after the last Layout
	// view is the page's main view: viewTreemap, viewMap or viewFlow.
	view string
}

// The page's main views (the toggle in the header).
const (
	viewTreemap = "treemap"
	viewMap     = "map"
	viewFlow    = "flow"
)

// clusterNote is what a user wrote about a sub-cluster (server/notes.go).
type clusterNote struct {
	name, verdict, text, lineage string
}

func (m *model) version() uint32 {
	if m.asg == nil {
		return 0
	}
	return m.asg.Version
}

func newApp() *app {
	a := &app{}
	a.dom = newDOM(a.reportErr)
	a.sock = &socket{a: a}
	a.m.selected = -1
	a.m.image = -1
	a.m.view = viewTreemap
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

// start makes the panels (each binds its part of the page), starts the
// frame loop and connects.
func (a *app) start() {
	q := js.Global().Get("URLSearchParams").New(js.Global().Get("location").Get("search"))
	if t := q.Call("get", "token"); t.Type() == js.TypeString {
		a.token = t.String()
	}
	mp, header, search := newMapPanel(a), newHeaderPanel(a), newSearchPanel(a)
	detail, recluster, charts := newDetailPanel(a), newReclusterPanel(a), newChartsPanel(a)
	images, points, flow := newImagePanel(a), newPointsPanel(a), newFlowPanel(a)
	a.handlers = []func(event){mp.handle, points.handle, flow.handle, header.handle, search.handle, detail.handle, recluster.handle, charts.handle, images.handle}
	a.tickers = []func(float64){charts.tick, mp.tick, points.tick, flow.tick}
	a.bindKeys()
	for _, v := range []string{viewTreemap, viewMap, viewFlow} {
		a.dom.on(a.dom.byID("view-"+v), "click", func(js.Value) { a.setView(v) })
	}
	installHooks(a, mp, search, recluster, charts, images, detail, points, flow)
	a.rafFunc = a.dom.fn("frame", func(_ js.Value, args []js.Value) any {
		a.frame(args[0].Float())
		return nil
	})
	js.Global().Call("requestAnimationFrame", a.rafFunc)
	a.sock.connect()
	a.setConn("connecting", "connecting…")
}

// emit hands ev to every panel, in the order start lists them.
func (a *app) emit(ev event) {
	for _, h := range a.handlers {
		h(ev)
	}
}

func (a *app) frame(ts float64) {
	js.Global().Call("requestAnimationFrame", a.rafFunc)
	for _, t := range a.tickers {
		t(ts)
	}
}

// setConn reports the connection state.
func (a *app) setConn(class, text string) { a.emit(connEvent{class, text}) }

// selectSub selects sub-cluster z (-1: none).
func (a *app) selectSub(z int32) {
	a.m.selected = z
	a.emit(selectEvent{})
}

// setView shows one of the main views (viewTreemap, viewMap, viewFlow).
func (a *app) setView(v string) {
	if v == a.m.view {
		return
	}
	for _, o := range []string{viewTreemap, viewMap, viewFlow} {
		cl := a.dom.byID("view-" + o).Get("classList")
		if o == v {
			cl.Call("add", "active")
		} else {
			cl.Call("remove", "active")
		}
	}
	a.m.view = v
	a.emit(viewEvent{})
}

// openImage shows image id in the image view (-1 closes it).
func (a *app) openImage(id int32) {
	a.m.image = id
	a.emit(imageEvent{})
}

// loadNotes fetches the clusters' notes of the current version (GET
// /api/notes); the panels hear of them through a notesEvent.
func (a *app) loadNotes() {
	a.notesSeq++
	seq := a.notesSeq
	a.fetchJSON("GET", "/api/notes", "", func(status int, v js.Value, err string) {
		if seq != a.notesSeq || status != 200 || err != "" {
			return
		}
		ver := uint32(max(jsInt(v, "version"), 0))
		if ver != a.m.version() {
			return // a newer version is on its way; its own request follows
		}
		notes := map[int32]clusterNote{}
		for _, n := range jsArr(v, "notes") {
			notes[int32(jsInt(n, "sub"))] = clusterNote{name: jsStr(n, "name"), verdict: jsStr(n, "verdict"),
				text: jsStr(n, "text"), lineage: jsStr(n, "lineage")}
		}
		a.m.notes, a.m.notesVersion = notes, ver
		a.emit(notesEvent{})
	})
}

// ---- frames from the server ----

func (a *app) onFrame(b []byte) {
	t0 := a.dom.now()
	f, err := wire.DecodeFrame(b)
	a.decodeMs = a.dom.now() - t0
	if err != nil {
		a.reportErr("decode", err)
		return
	}
	m := &a.m
	if m.haveRun && f.Run != 0 && f.Run != m.runHash && f.Kind != wire.KindSnapshot {
		// A frame of another run: only a snapshot can start over.
		a.sock.requestSnapshot(0)
		return
	}
	switch f.Kind {
	case wire.KindSnapshot:
		fresh := m.haveRun && f.Run != m.runHash
		if fresh {
			m.stable = ui.Stable{}
		}
		a.setRun(*f.Info)
		m.runHash = f.Run
		m.asg = f.Assignment
		a.setSummaries(f.Summaries)
		a.newVersion(fresh)
	case wire.KindDelta:
		if m.asg == nil || f.Delta.From != m.asg.Version {
			a.sock.requestSnapshot(m.version())
			return
		}
		if err := f.Delta.Apply(m.asg); err != nil {
			a.reportErr("apply delta", err)
			a.sock.requestSnapshot(m.version())
			return
		}
		a.setSummaries(f.Delta.Summaries)
		a.newVersion(false)
	case wire.KindSummaries:
		if m.asg != nil && f.Version == m.asg.Version {
			a.setSummaries(f.Summaries)
			a.emit(summariesEvent{})
		}
	case wire.KindProgress:
		m.progress = *f.Progress
		m.run.Progress = *f.Progress
		a.emit(progressEvent{})
	case wire.KindMetrics:
		mm := *f.Metrics
		m.metrics = &mm
		a.emit(metricsEvent{})
	case wire.KindRunInfo:
		a.setRun(*f.Info)
		m.runHash = f.Run
	case wire.KindHistory:
		m.history = f.History
		a.emit(historyEvent{})
	case wire.KindLayout:
		m.layout = f.Layout
		m.layoutPending = false
		a.emit(layoutEvent{})
	case wire.KindLayoutDelta:
		if m.layout == nil {
			return // the full layout comes with the next snapshot
		}
		if err := f.LayoutDelta.Apply(m.layout); err != nil {
			a.reportErr("apply layout delta", err)
			return
		}
		a.emit(layoutEvent{delta: true})
	case wire.KindLayoutProgress:
		m.layoutProgress = *f.LayoutProgress
		m.layoutPending = f.LayoutProgress.Done < 1
		a.emit(layoutProgressEvent{})
	}
}

func (a *app) setRun(info deepercluster.RunInfo) {
	first := !a.m.haveRun
	a.m.run = info
	a.m.haveRun = true
	a.m.progress = info.Progress
	a.emit(runEvent{first: first})
}

func (a *app) setSummaries(s []deepercluster.ClusterSummary) {
	if a.m.asg == nil {
		return
	}
	n := len(a.m.asg.SubParent)
	a.m.sums = make([]deepercluster.ClusterSummary, n)
	for _, cs := range s {
		if cs.Sub >= 0 && int(cs.Sub) < n {
			a.m.sums[cs.Sub] = cs
		}
	}
}

// newVersion matches the clusters of a new Assignment version with the
// previous one's (so that persisting clusters keep their place and
// colour), carries the selection over to its cluster's match, and tells
// the panels.
func (a *app) newVersion(fresh bool) {
	t0 := a.dom.now()
	defer func() { a.layoutMs = a.dom.now() - t0 }()
	m := &a.m
	as := m.asg
	m.versions++
	m.superSize, m.subSize = as.Sizes()
	superMatch, subMatch := m.stable.Update(as.Version, as.Super, as.Sub, as.M, as.SubParent)
	oldSel := m.selected
	if oldSel >= 0 {
		m.selected = -1
		for z, o := range subMatch {
			if o == oldSel {
				m.selected = int32(z)
				break
			}
		}
	}
	if m.notesVersion != as.Version {
		// The notes follow their clusters on the server; until they come,
		// none is shown on a cluster it may no longer name.
		m.notes = nil
	}
	a.emit(versionEvent{fresh: fresh, superMatch: superMatch, subMatch: subMatch})
	if oldSel >= 0 {
		a.emit(selectEvent{})
	}
	a.loadNotes()
}

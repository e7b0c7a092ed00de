//go:build js && wasm

package main

// A panel is one part of the page: the map, the header, the search, the
// selected cluster's detail, the recluster form, the charts, the image view,
// the 2D map of every image (points.go) and the flow of clusters between
// versions (flow.go). It owns its DOM
// elements and its state, reads the model the app core keeps (app.m) and
// reacts to the events the core dispatches to every panel in turn. It
// never reads or writes another panel's fields: what others should see it
// tells the core (app.selectSub, app.emit). docs/ARCHITECTURE.md says where
// to add one.
type panel interface {
	handle(ev event)
}

// A ticker is a panel with work on every animation frame (drawing).
type ticker interface {
	tick(ts float64)
}

// The panels, checked against the contract; app.start registers them.
var (
	_ panel  = (*mapPanel)(nil)
	_ ticker = (*mapPanel)(nil)
	_ panel  = (*headerPanel)(nil)
	_ panel  = (*searchPanel)(nil)
	_ panel  = (*detailPanel)(nil)
	_ panel  = (*reclusterPanel)(nil)
	_ panel  = (*chartsPanel)(nil)
	_ ticker = (*chartsPanel)(nil)
	_ panel  = (*imagePanel)(nil)
	_ panel  = (*pointsPanel)(nil)
	_ ticker = (*pointsPanel)(nil)
	_ panel  = (*flowPanel)(nil)
	_ ticker = (*flowPanel)(nil)
)

// event is one of the types below; panels type-switch on those they need
// and ignore the others.
type event interface{ isEvent() }

type (
	// runEvent: the run's description arrived (app.m.run); first is true
	// for the first one the page gets.
	runEvent struct{ first bool }
	// versionEvent: a new Assignment version is in app.m (from a snapshot
	// or a delta). superMatch and subMatch map each of its clusters to the
	// matched cluster of the previous version, or -1. fresh is set when it
	// belongs to another run than the previous one: nothing carries over.
	versionEvent struct {
		fresh                bool
		superMatch, subMatch []int32
	}
	// summariesEvent: the tag summaries of the current version changed.
	summariesEvent struct{}
	// progressEvent: the trainer's progress changed (app.m.progress).
	progressEvent struct{}
	// metricsEvent: quality figures of a reclustering arrived
	// (app.m.metrics).
	metricsEvent struct{}
	// historyEvent: the run's history since it began arrived
	// (app.m.history), on connect or resync: it replaces what the charts
	// held.
	historyEvent struct{}
	// connEvent: the websocket's state, as a CSS class and a line of text.
	connEvent struct{ class, text string }
	// selectEvent: the selected sub-cluster (app.m.selected) changed, or
	// was carried into a new version.
	selectEvent struct{}
	// highlightEvent: the search lights these clusters (flags by sub- and
	// super-cluster id of the current version; nil when no search runs).
	highlightEvent struct {
		query       string
		subs, super []bool
	}
	// focusEvent asks the map to zoom to a sub-cluster and select it, or,
	// with sub -1, to zoom to a super-cluster.
	focusEvent struct{ super, sub int32 }
	// imageEvent: the image view opened on image app.m.image, or closed
	// (app.m.image -1).
	imageEvent struct{}
	// notesEvent: the users' cluster notes of the current version changed
	// (app.m.notes).
	notesEvent struct{}
	// navEvent asks the map to select the sibling step places away from
	// the selected sub-cluster (the keyboard's arrows), or with open to
	// zoom to the selected one (Enter).
	navEvent struct {
		step int
		open bool
	}
	// viewEvent: the page's main view (app.m.view) changed.
	viewEvent struct{}
	// layoutEvent: a 2D layout arrived (app.m.layout), or with delta
	// some of its points moved.
	layoutEvent struct{ delta bool }
	// layoutProgressEvent: the server's progress with the next layout
	// changed (app.m.layoutProgress).
	layoutProgressEvent struct{}
)

func (runEvent) isEvent()       {}
func (versionEvent) isEvent()   {}
func (summariesEvent) isEvent() {}
func (progressEvent) isEvent()  {}
func (metricsEvent) isEvent()   {}
func (historyEvent) isEvent()   {}
func (connEvent) isEvent()      {}
func (selectEvent) isEvent()    {}
func (highlightEvent) isEvent() {}
func (focusEvent) isEvent()     {}
func (imageEvent) isEvent()     {}
func (notesEvent) isEvent()     {}
func (navEvent) isEvent()       {}
func (viewEvent) isEvent()      {}
func (layoutEvent) isEvent()    {}

func (layoutProgressEvent) isEvent() {}

//go:build js && wasm && !dctest

package main

// installHooks does nothing in the shipped client: the JavaScript globals
// that only tests and benchmarks use (window.dcState, dcBench and the
// others in hooks_dctest.go) are built with the dctest tag alone.
func installHooks(*app, *mapPanel, *searchPanel, *reclusterPanel, *chartsPanel, *imagePanel, *detailPanel, *pointsPanel, *flowPanel) {
}

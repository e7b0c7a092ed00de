// Package ui is the browser-independent half of the explorer client: the
// nested squarified treemap, the matching that keeps clusters in place across
// Assignment versions, the view transform, the software rasteriser the
// client draws with, the small line charts and a tiny JSON writer. It has no
// syscall/js dependency so that all of it builds and is tested natively; the
// js/wasm main package in the parent directory only moves pixels and events
// between this package and the page.
package ui

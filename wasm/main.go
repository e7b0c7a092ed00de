//go:build js && wasm

// Command wasm is the explorer's browser client: it keeps a websocket to the
// server, applies the snapshot and the deltas of cluster assignments
// (decoded with package wire) and hands every change to
// its panels: the map (a nested treemap laid out with the ui package and
// drawn into a Go pixel buffer that reaches the canvas in one copy per
// frame), the header, the search, the selected cluster's detail, the
// recluster form and the charts. app.go is the core, events.go the panels'
// contract. Built with the dctest tag, it also exposes its state and a
// frame benchmark to JavaScript for the tests (hooks_dctest.go).
package main

import (
	"strconv"
	"syscall/js"
)

func main() {
	a := newApp()
	a.start()
	select {}
}

func itoa(n int) string { return strconv.Itoa(n) }

func ftoa(f float64, prec int) string { return strconv.FormatFloat(f, 'f', prec, 64) }

func pct(f float64) string { return ftoa(100*f, 0) + "%" }

// jsInt reads a JSON number member as an int (-1 when absent).
func jsInt(v js.Value, k string) int {
	x := v.Get(k)
	if x.Type() != js.TypeNumber {
		return -1
	}
	return x.Int()
}

func jsFloat(v js.Value, k string) float64 {
	x := v.Get(k)
	if x.Type() != js.TypeNumber {
		return 0
	}
	return x.Float()
}

func jsStr(v js.Value, k string) string {
	x := v.Get(k)
	if x.Type() != js.TypeString {
		return ""
	}
	return x.String()
}

func jsArr(v js.Value, k string) []js.Value {
	x := v
	if k != "" {
		if v.Type() != js.TypeObject {
			return nil
		}
		x = v.Get(k)
	}
	if x.Type() != js.TypeObject || !js.Global().Get("Array").Call("isArray", x).Bool() {
		return nil
	}
	out := make([]js.Value, x.Length())
	for i := range out {
		out[i] = x.Index(i)
	}
	return out
}

//go:build js && wasm

package main

import (
	"strings"
	"syscall/js"
)

// dom wraps the few browser calls the client makes, keeping every js.Func
// it creates alive for the page's lifetime (they are few and fixed).
type dom struct {
	doc   js.Value
	win   js.Value
	onErr func(where string, v any)
	funcs []js.Func
}

func newDOM(onErr func(string, any)) *dom {
	return &dom{doc: js.Global().Get("document"), win: js.Global(), onErr: onErr}
}

func (d *dom) byID(id string) js.Value { return d.doc.Call("getElementById", id) }

// safe runs f, turning a panic (a JavaScript exception, a bug) into a
// reported error instead of killing the client.
func (d *dom) safe(where string, f func()) {
	defer func() {
		if r := recover(); r != nil {
			d.onErr(where, r)
		}
	}()
	f()
}

// fn makes a long-lived js.Func that runs f safely.
func (d *dom) fn(where string, f func(this js.Value, args []js.Value) any) js.Func {
	var jf js.Func
	jf = js.FuncOf(func(this js.Value, args []js.Value) (out any) {
		d.safe(where, func() { out = f(this, args) })
		return out
	})
	d.funcs = append(d.funcs, jf)
	return jf
}

// on adds an event listener; passive false lets wheel handlers prevent
// page scrolling.
func (d *dom) on(el js.Value, ev string, f func(e js.Value)) {
	jf := d.fn(ev, func(_ js.Value, args []js.Value) any {
		var e js.Value
		if len(args) > 0 {
			e = args[0]
		}
		f(e)
		return nil
	})
	el.Call("addEventListener", ev, jf, map[string]any{"passive": false})
}

// once schedules f after ms milliseconds with a js.Func released after use.
func (d *dom) once(ms float64, f func()) js.Value {
	var jf js.Func
	jf = js.FuncOf(func(js.Value, []js.Value) any {
		jf.Release()
		d.safe("timer", f)
		return nil
	})
	return d.win.Call("setTimeout", jf, ms)
}

func (d *dom) now() float64 { return d.win.Get("performance").Call("now").Float() }

func setText(el js.Value, s string) { el.Set("textContent", s) }
func setHTML(el js.Value, s string) { el.Set("innerHTML", s) }

var htmlEsc = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

// esc escapes text for HTML: tags come from users' photos.
func esc(s string) string { return htmlEsc.Replace(s) }

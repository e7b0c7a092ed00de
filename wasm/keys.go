//go:build js && wasm

package main

import "syscall/js"

// bindKeys wires the page's keyboard: the arrows move between the sibling
// sub-clusters of the selected one, Enter opens (zooms to) it, Escape
// closes the image view or else the selection, and "/" focuses the
// search. While the user types in a field, only Escape is taken.
func (a *app) bindKeys() {
	d := a.dom
	d.on(d.doc, "keydown", func(e js.Value) {
		if e.Get("ctrlKey").Bool() || e.Get("metaKey").Bool() || e.Get("altKey").Bool() {
			return
		}
		key := e.Get("key").String()
		typing := false
		if el := d.doc.Get("activeElement"); !el.IsNull() && !el.IsUndefined() {
			switch el.Get("tagName").String() {
			case "INPUT", "TEXTAREA", "SELECT", "BUTTON":
				typing = true
			}
		}
		switch {
		case key == "Escape":
			if a.m.image >= 0 {
				a.openImage(-1)
			} else if !typing {
				a.selectSub(-1)
			}
		case typing:
			return
		case key == "/":
			e.Call("preventDefault")
			d.byID("q").Call("focus")
		case key == "ArrowRight" || key == "ArrowDown":
			e.Call("preventDefault")
			a.emit(navEvent{step: 1})
		case key == "ArrowLeft" || key == "ArrowUp":
			e.Call("preventDefault")
			a.emit(navEvent{step: -1})
		case key == "Enter":
			e.Call("preventDefault")
			a.emit(navEvent{open: true})
		}
	})
}

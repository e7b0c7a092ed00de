//go:build js && wasm

package main

import (
	"math/rand/v2"
	"syscall/js"

	"github.com/deepercluster/deepercluster/wire"
)

// fetch calls the server with the browser's fetch (net/http would add
// megabytes to the .wasm): method and url, a JSON body when body is not
// empty, the token when there is one. The response body is read as
// readAs ("text" or "arrayBuffer") and handed to onBody with the status;
// a failed request calls onFail with a message instead. Both run through
// dom.safe, so a panic in a callback is reported, not fatal.
func (a *app) fetch(method, url, body, readAs string, onBody func(status int, v js.Value), onFail func(msg string)) {
	opts := map[string]any{"method": method, "headers": map[string]any{}}
	h := opts["headers"].(map[string]any)
	if body != "" {
		opts["body"] = body
		h["Content-Type"] = "application/json"
	}
	if a.token != "" {
		h["Authorization"] = "Bearer " + a.token
	}
	status := 0
	var onResp, onRead, onErr js.Func
	release := func() { onResp.Release(); onRead.Release(); onErr.Release() }
	onResp = js.FuncOf(func(_ js.Value, args []js.Value) any {
		status = args[0].Get("status").Int()
		return args[0].Call(readAs)
	})
	onRead = js.FuncOf(func(_ js.Value, args []js.Value) any {
		release()
		a.dom.safe("fetch "+url, func() { onBody(status, args[0]) })
		return nil
	})
	onErr = js.FuncOf(func(_ js.Value, args []js.Value) any {
		release()
		msg := "network error"
		if len(args) > 0 {
			msg = args[0].Call("toString").String()
		}
		a.dom.safe("fetch "+url, func() { onFail(msg) })
		return nil
	})
	js.Global().Call("fetch", url, opts).Call("then", onResp).Call("then", onRead).Call("catch", onErr)
}

// fetchJSON is fetch with the body parsed as JSON; err is set when the
// request failed or the body is not JSON.
func (a *app) fetchJSON(method, url, body string, cb func(status int, v js.Value, err string)) {
	a.fetch(method, url, body, "text", func(status int, text js.Value) {
		var v js.Value
		perr := ""
		func() {
			defer func() {
				if r := recover(); r != nil {
					perr = "the answer is not JSON"
				}
			}()
			v = js.Global().Get("JSON").Call("parse", text)
		}()
		cb(status, v, perr)
	}, func(msg string) { cb(0, js.Undefined(), msg) })
}

// fetchBytes GETs url and hands the status and the body's bytes to cb;
// err is set when the request failed.
func (a *app) fetchBytes(url string, cb func(status int, b []byte, err string)) {
	a.fetch("GET", url, "", "arrayBuffer", func(status int, buf js.Value) {
		u8 := js.Global().Get("Uint8Array").New(buf)
		b := make([]byte, u8.Get("length").Int())
		js.CopyBytesToGo(b, u8)
		cb(status, b, "")
	}, func(msg string) { cb(0, nil, msg) })
}

// thumbURL is where the server serves an image's thumbnail.
func thumbURL(id int32) string { return "/api/images/" + itoa(int(id)) + "/thumb" }

// errMsg is the server's {"error", "field"} answer as one line.
func errMsg(status int, v js.Value, err string) string {
	if err != "" && status == 0 {
		return err
	}
	msg := "HTTP " + itoa(status)
	if v.Type() == js.TypeObject {
		if e := v.Get("error"); e.Type() == js.TypeString {
			msg = e.String()
		}
		if f := v.Get("field"); f.Type() == js.TypeString && f.String() != "" {
			msg += " (field " + f.String() + ")"
		}
	}
	return msg
}

// socket keeps one websocket to /ws open, reconnecting with exponential
// backoff and jitter (0.5 s doubling to 10 s) when it drops.
type socket struct {
	a          *app
	ws         js.Value
	funcs      []js.Func
	backoff    float64
	reconnects int
	open       bool
	nextTry    float64 // performance.now() of the next attempt, while down
}

func (s *socket) url() string {
	loc := js.Global().Get("location")
	proto := "ws:"
	if loc.Get("protocol").String() == "https:" {
		proto = "wss:"
	}
	u := proto + "//" + loc.Get("host").String() + "/ws"
	if s.a.token != "" {
		u += "?token=" + js.Global().Call("encodeURIComponent", s.a.token).String()
	}
	return u
}

func (s *socket) connect() {
	s.a.setConn("connecting", "connecting…")
	ws := js.Global().Get("WebSocket").New(s.url())
	ws.Set("binaryType", "arraybuffer")
	s.ws = ws
	mk := func(where string, f func(args []js.Value)) js.Func {
		jf := js.FuncOf(func(_ js.Value, args []js.Value) any {
			s.a.dom.safe(where, func() { f(args) })
			return nil
		})
		s.funcs = append(s.funcs, jf)
		return jf
	}
	ws.Set("onopen", mk("ws open", func([]js.Value) {
		s.open = true
		s.backoff = 0
		s.a.setConn("live", "live")
	}))
	ws.Set("onmessage", mk("ws message", func(args []js.Value) {
		data := args[0].Get("data")
		if data.Type() == js.TypeString {
			return
		}
		u8 := js.Global().Get("Uint8Array").New(data)
		b := make([]byte, u8.Get("length").Int())
		js.CopyBytesToGo(b, u8)
		s.a.onFrame(b)
	}))
	ws.Set("onclose", mk("ws close", func([]js.Value) {
		s.open = false
		for _, f := range s.funcs {
			f.Release()
		}
		s.funcs = nil
		s.retry()
	}))
	ws.Set("onerror", mk("ws error", func([]js.Value) {}))
}

func (s *socket) retry() {
	if s.backoff == 0 {
		s.backoff = 500
	} else {
		s.backoff = min(s.backoff*2, 10000)
	}
	wait := s.backoff * (0.75 + 0.5*rand.Float64())
	s.reconnects++
	s.nextTry = s.a.dom.now() + wait
	s.a.setConn("down", "reconnecting in "+ftoa(wait/1000, 1)+" s")
	s.a.dom.once(wait, s.connect)
}

// send writes a binary frame when the socket is open.
func (s *socket) send(b []byte) {
	if !s.open {
		return
	}
	u8 := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(u8, b)
	s.ws.Call("send", u8)
}

func (s *socket) requestSnapshot(have uint32) {
	s.send(wire.AppendRequestSnapshot(nil, have))
}

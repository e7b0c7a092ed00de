//go:build js && wasm

package main

import (
	"errors"
	"math"
	"syscall/js"

	"github.com/deepercluster/deepercluster/wasm/ui"
)

// glPoints draws the map's points with WebGL: one gl.POINTS draw call from
// a position buffer (two float32 per point, world units) and a colour
// buffer (four bytes per point, alpha 255 for lit points, which the vertex
// shader brings to the front with the depth test). The view is two
// uniforms.
type glPoints struct {
	gl                     js.Value
	posBuf, colBuf         js.Value
	uScale, uOff, uSize    js.Value
	aPos, aCol             int
	n                      int
	bgR, bgG, bgB          float64
	posBytes, colBytes     js.Value // staging Uint8Arrays, reused while large enough
	posStaging, colStaging []byte
}

const pointsVS = `
attribute vec2 pos;
attribute vec4 col;
uniform vec2 scale;
uniform vec2 off;
uniform float size;
varying vec4 vcol;
varying float vround;
void main() {
	gl_Position = vec4(pos * scale + off, col.a > 0.999 ? -0.5 : 0.5, 1.0);
	gl_PointSize = size;
	vcol = vec4(col.rgb, 1.0);
	vround = size > 3.5 ? 1.0 : 0.0;
}`

const pointsFS = `
precision mediump float;
varying vec4 vcol;
varying float vround;
void main() {
	if (vround > 0.5) {
		vec2 d = gl_PointCoord - vec2(0.5);
		if (dot(d, d) > 0.25) discard;
	}
	gl_FragColor = vcol;
}`

// newGLPoints sets WebGL up on canvas; an error means no WebGL.
func newGLPoints(canvas js.Value) (*glPoints, error) {
	opts := map[string]any{"antialias": false, "alpha": false, "depth": true, "preserveDrawingBuffer": false}
	gl := canvas.Call("getContext", "webgl", opts)
	if gl.IsNull() || gl.IsUndefined() {
		gl = canvas.Call("getContext", "experimental-webgl", opts)
	}
	if gl.IsNull() || gl.IsUndefined() {
		return nil, errors.New("no WebGL")
	}
	compile := func(kind js.Value, src string) (js.Value, error) {
		sh := gl.Call("createShader", kind)
		gl.Call("shaderSource", sh, src)
		gl.Call("compileShader", sh)
		if !gl.Call("getShaderParameter", sh, gl.Get("COMPILE_STATUS")).Bool() {
			return js.Null(), errors.New("compile shader: " + gl.Call("getShaderInfoLog", sh).String())
		}
		return sh, nil
	}
	vs, err := compile(gl.Get("VERTEX_SHADER"), pointsVS)
	if err != nil {
		return nil, err
	}
	fs, err := compile(gl.Get("FRAGMENT_SHADER"), pointsFS)
	if err != nil {
		return nil, err
	}
	prog := gl.Call("createProgram")
	gl.Call("attachShader", prog, vs)
	gl.Call("attachShader", prog, fs)
	gl.Call("linkProgram", prog)
	if !gl.Call("getProgramParameter", prog, gl.Get("LINK_STATUS")).Bool() {
		return nil, errors.New("link program: " + gl.Call("getProgramInfoLog", prog).String())
	}
	gl.Call("useProgram", prog)
	g := &glPoints{gl: gl,
		posBuf: gl.Call("createBuffer"), colBuf: gl.Call("createBuffer"),
		uScale: gl.Call("getUniformLocation", prog, "scale"),
		uOff:   gl.Call("getUniformLocation", prog, "off"),
		uSize:  gl.Call("getUniformLocation", prog, "size"),
		aPos:   gl.Call("getAttribLocation", prog, "pos").Int(),
		aCol:   gl.Call("getAttribLocation", prog, "col").Int(),
		bgR:    float64(ui.Background.R) / 255, bgG: float64(ui.Background.G) / 255, bgB: float64(ui.Background.B) / 255,
	}
	gl.Call("enable", gl.Get("DEPTH_TEST"))
	gl.Call("depthFunc", gl.Get("LEQUAL"))
	return g, nil
}

// upload copies b into a WebGL buffer through a reused staging array.
func (g *glPoints) upload(buf js.Value, b []byte, staging *js.Value) {
	gl := g.gl
	if staging.IsUndefined() || staging.Get("length").Int() < len(b) {
		*staging = js.Global().Get("Uint8Array").New(len(b))
	}
	view := staging.Call("subarray", 0, len(b))
	js.CopyBytesToJS(view, b)
	gl.Call("bindBuffer", gl.Get("ARRAY_BUFFER"), buf)
	gl.Call("bufferData", gl.Get("ARRAY_BUFFER"), view, gl.Get("STATIC_DRAW"))
}

// positions uploads the points' positions (world units) in the drawing
// order.
func (g *glPoints) positions(xs, ys []float32, order []int32) {
	n := len(order)
	if cap(g.posStaging) < 8*n {
		g.posStaging = make([]byte, 8*n)
	}
	b := g.posStaging[:8*n]
	for i, id := range order {
		x, y := math.Float32bits(xs[id]), math.Float32bits(ys[id])
		b[8*i], b[8*i+1], b[8*i+2], b[8*i+3] = byte(x), byte(x>>8), byte(x>>16), byte(x>>24)
		b[8*i+4], b[8*i+5], b[8*i+6], b[8*i+7] = byte(y), byte(y>>8), byte(y>>16), byte(y>>24)
	}
	g.upload(g.posBuf, b, &g.posBytes)
	g.n = n
}

// colours uploads RGBA per point (by image id) in the drawing order.
func (g *glPoints) colours(rgba []byte, order []int32) {
	n := len(order)
	if cap(g.colStaging) < 4*n {
		g.colStaging = make([]byte, 4*n)
	}
	b := g.colStaging[:4*n]
	for i, id := range order {
		copy(b[4*i:4*i+4], rgba[4*id:4*id+4])
	}
	g.upload(g.colBuf, b, &g.colBytes)
}

// draw clears and draws the spans of the drawing order at view, on a
// w x h canvas, size px wide.
func (g *glPoints) draw(v ui.View, w, h int, size float64, spans []ui.Span) {
	gl := g.gl
	gl.Call("viewport", 0, 0, w, h)
	gl.Call("clearColor", g.bgR, g.bgG, g.bgB, 1)
	gl.Call("clear", gl.Get("COLOR_BUFFER_BIT").Int()|gl.Get("DEPTH_BUFFER_BIT").Int())
	if g.n == 0 {
		return
	}
	// clip = (world - view) * scale / (w, h) * 2 - 1, y down.
	sx, sy := 2*v.Scale/float64(w), -2*v.Scale/float64(h)
	gl.Call("uniform2f", g.uScale, sx, sy)
	gl.Call("uniform2f", g.uOff, -v.X*sx-1, -v.Y*sy+1)
	gl.Call("uniform1f", g.uSize, size)
	arr := gl.Get("ARRAY_BUFFER")
	gl.Call("bindBuffer", arr, g.posBuf)
	gl.Call("enableVertexAttribArray", g.aPos)
	gl.Call("vertexAttribPointer", g.aPos, 2, gl.Get("FLOAT"), false, 0, 0)
	gl.Call("bindBuffer", arr, g.colBuf)
	gl.Call("enableVertexAttribArray", g.aCol)
	gl.Call("vertexAttribPointer", g.aCol, 4, gl.Get("UNSIGNED_BYTE"), true, 0, 0)
	points := gl.Get("POINTS")
	for _, s := range spans {
		gl.Call("drawArrays", points, s.First, s.Count)
	}
}

// readPixels counts, right after a draw, the canvas' pixels that are not
// background and those that have the colour lit (for the tests).
func (g *glPoints) readPixels(w, h int, lit ui.Color) (nonBg, litPx int) {
	gl := g.gl
	buf := js.Global().Get("Uint8Array").New(4 * w * h)
	gl.Call("readPixels", 0, 0, w, h, gl.Get("RGBA"), gl.Get("UNSIGNED_BYTE"), buf)
	b := make([]byte, 4*w*h)
	js.CopyBytesToGo(b, buf)
	bg := ui.Background
	for i := 0; i < len(b); i += 4 {
		if b[i] != bg.R || b[i+1] != bg.G || b[i+2] != bg.B {
			nonBg++
		}
		if b[i] == lit.R && b[i+1] == lit.G && b[i+2] == lit.B {
			litPx++
		}
	}
	return nonBg, litPx
}

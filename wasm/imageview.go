//go:build js && wasm

package main

import (
	"strconv"
	"strings"
	"syscall/js"
)

// similarK is how many similar images the image view lists.
const similarK = 12

// imagePanel is the image view: one image large, its title, user tags and
// autotags, its super- and sub-cluster (each a link that zooms the map
// there), its label where the dataset has one, the note of its cluster,
// and below the images nearest to it in the feature space of the latest
// clustering, each a link to its own view.
type imagePanel struct {
	a       *app
	id      int32 // shown, -1 none
	loaded  int32 // whose details arrived, -1 none
	super   int32
	sub     int32
	similar []int32 // ids listed, nearest first
	simOf   int32   // the image the list is for, -1 none
	simErr  string
	seq     int
}

func newImagePanel(a *app) *imagePanel {
	p := &imagePanel{a: a, id: -1, loaded: -1, simOf: -1, super: -1, sub: -1}
	d := a.dom
	d.on(d.byID("iv-close"), "click", func(js.Value) { a.openImage(-1) })
	open := func(e js.Value) {
		el := e.Get("target").Call("closest", "[data-id]")
		if el.IsNull() {
			return
		}
		if id, err := strconv.Atoi(el.Get("dataset").Get("id").String()); err == nil {
			a.openImage(int32(id))
		}
	}
	d.on(d.byID("iv-similar"), "click", open)
	d.on(d.byID("clustergrid"), "click", open)
	d.on(d.byID("iv-info"), "click", func(e js.Value) {
		el := e.Get("target").Call("closest", "[data-sub]")
		if el.IsNull() {
			return
		}
		sup, err1 := strconv.Atoi(el.Get("dataset").Get("super").String())
		sub, err2 := strconv.Atoi(el.Get("dataset").Get("sub").String())
		if err1 == nil && err2 == nil {
			a.emit(focusEvent{super: int32(sup), sub: int32(sub)})
		}
	})
	return p
}

func (p *imagePanel) handle(ev event) {
	switch ev.(type) {
	case imageEvent:
		p.show(p.a.m.image)
	case versionEvent:
		if p.id >= 0 {
			p.show(p.id) // its clusters and neighbours belong to the old version
		}
	}
}

// show opens the view on image id, or closes it (-1).
func (p *imagePanel) show(id int32) {
	d := p.a.dom
	box := d.byID("imageview")
	p.seq++
	seq := p.seq
	p.id = id
	if id < 0 {
		box.Set("hidden", true)
		return
	}
	box.Set("hidden", false)
	p.loaded, p.simOf, p.similar, p.simErr = -1, -1, nil, ""
	d.byID("iv-img").Set("src", thumbURL(id))
	d.byID("iv-img").Set("alt", "image "+itoa(int(id)))
	setText(d.byID("iv-title"), "image "+itoa(int(id)))
	setHTML(d.byID("iv-info"), `<span class="muted">loading…</span>`)
	setText(d.byID("iv-similar-info"), "finding similar images…")
	setHTML(d.byID("iv-similar"), "")
	base := "/api/images/" + itoa(int(id))
	p.a.fetchJSON("GET", base, "", func(status int, v js.Value, err string) {
		if seq != p.seq {
			return
		}
		if status != 200 || err != "" {
			setHTML(d.byID("iv-info"), `<span class="err">`+esc(errMsg(status, v, err))+`</span>`)
			return
		}
		p.loaded = id
		p.render(v)
	})
	p.a.fetchJSON("GET", base+"/similar?k="+itoa(similarK), "", func(status int, v js.Value, err string) {
		if seq != p.seq {
			return
		}
		info := d.byID("iv-similar-info")
		if status != 200 || err != "" {
			p.simErr = errMsg(status, v, err)
			setHTML(info, `<span class="err">`+esc(p.simErr)+`</span>`)
			return
		}
		var b strings.Builder
		for _, im := range jsArr(v, "images") {
			sid := jsInt(im, "id")
			p.similar = append(p.similar, int32(sid))
			dist := ftoa(jsFloat(im, "distance"), 3)
			b.WriteString(`<figure data-id="` + itoa(sid) + `" title="image ` + itoa(sid) + ", distance " + dist +
				", sub-cluster " + itoa(jsInt(im, "sub")) + `"><img src="` + thumbURL(int32(sid)) + `" alt="image ` + itoa(sid) +
				`"><figcaption>` + dist + ` · sub ` + itoa(jsInt(im, "sub")) + `</figcaption></figure>`)
		}
		p.simOf = id
		setText(info, itoa(len(p.similar))+" nearest in the features of clustering version "+itoa(jsInt(v, "features_version"))+
			" (distance between L2-normalised PCA features: 0 same, 2 opposite); click one to open it")
		setHTML(d.byID("iv-similar"), b.String())
	})
}

// render fills the view with an image's details (GET /api/images/{id}).
func (p *imagePanel) render(v js.Value) {
	d := p.a.dom
	id := jsInt(v, "id")
	title := jsStr(v, "title")
	if title == "" {
		title = "image " + itoa(id)
	}
	setText(d.byID("iv-title"), title)
	var b strings.Builder
	b.WriteString(`<div class="muted">image ` + itoa(id))
	if ph := jsStr(v, "photo_id"); ph != "" {
		b.WriteString(" · photo " + esc(ph))
	}
	if u := jsStr(v, "user"); u != "" {
		b.WriteString(" · by " + esc(u))
	}
	b.WriteString("</div>")
	if desc := jsStr(v, "description"); desc != "" {
		b.WriteString("<div>" + esc(desc) + "</div>")
	}
	b.WriteString(`<div class="ivrow"><span class="ivk">user tags</span>`)
	tags := jsArr(v, "tags")
	for _, t := range tags {
		b.WriteString(`<span class="tag">#` + esc(t.String()) + `</span>`)
	}
	if len(tags) == 0 {
		b.WriteString(`<span class="muted">none</span>`)
	}
	b.WriteString(`</div><div class="ivrow"><span class="ivk">autotags</span>`)
	auto := jsArr(v, "autotags")
	for _, t := range auto {
		b.WriteString(`<span class="tag auto">` + esc(jsStr(t, "concept")) + ` <i>` + pct(jsFloat(t, "prob")) + `</i></span>`)
	}
	if len(auto) == 0 {
		b.WriteString(`<span class="muted">none in this dataset</span>`)
	}
	b.WriteString("</div>")
	p.super, p.sub = -1, -1
	if s := v.Get("sub"); s.Type() == js.TypeNumber {
		p.super, p.sub = int32(jsInt(v, "super")), int32(s.Int())
		b.WriteString(`<div class="ivrow"><span class="ivk">clusters</span><a href="#" class="clink" data-super="` + itoa(int(p.super)) +
			`" data-sub="` + itoa(int(p.sub)) + `">sub-cluster ` + itoa(int(p.sub)) + `</a> in super-cluster ` + itoa(int(p.super)))
		if n := v.Get("note"); n.Type() == js.TypeObject && jsStr(n, "name") != "" {
			b.WriteString(` · <b>` + esc(jsStr(n, "name")) + `</b>` + esc(verdictMark(jsStr(n, "verdict"))))
		}
		b.WriteString(" · version " + itoa(jsInt(v, "version")) + "</div>")
	} else {
		b.WriteString(`<div class="muted">not clustered yet</div>`)
	}
	if l := v.Get("label"); l.Type() == js.TypeNumber {
		b.WriteString(`<div class="ivrow"><span class="ivk">label</span>class ` + itoa(l.Int()) + `</div>`)
	}
	setHTML(d.byID("iv-info"), b.String())
}

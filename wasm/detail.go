//go:build js && wasm

package main

import (
	"math"
	"strings"
	"syscall/js"
)

// detailPanel shows the selected sub-cluster: what the client knows at once
// (size, top tags with shares, the clustering's quality) and then, from
// /api/clusters/{super}/{sub}, a page of its images and whatever figures
// the server adds.
type detailPanel struct {
	a     *app
	page  int
	pages int
	seq   int // answers to older requests are ignored
}

func newDetailPanel(a *app) *detailPanel {
	p := &detailPanel{a: a}
	d := a.dom
	d.on(d.byID("prevpage"), "click", func(js.Value) {
		if p.page > 0 {
			p.page--
			p.refresh()
		}
	})
	d.on(d.byID("nextpage"), "click", func(js.Value) {
		if p.page+1 < p.pages {
			p.page++
			p.refresh()
		}
	})
	return p
}

func (p *detailPanel) handle(ev event) {
	switch ev.(type) {
	case selectEvent:
		p.page = 0
		p.refresh()
	case summariesEvent:
		p.refresh()
	}
}

func (p *detailPanel) refresh() {
	m := &p.a.m
	d := p.a.dom
	box := d.byID("clusterbox")
	z := m.selected
	if z < 0 || m.asg == nil || int(z) >= len(m.asg.SubParent) {
		box.Set("hidden", true)
		return
	}
	box.Set("hidden", false)
	sup := m.asg.SubParent[z]
	setText(d.byID("clustertitle"), "Sub-cluster "+itoa(int(z))+" of super-cluster "+itoa(int(sup)))
	size := m.subSize[z]
	st := itoa(size) + " images · " + pct(float64(size)/math.Max(1, float64(m.superSize[sup]))) + " of its super-cluster · version " + itoa(int(m.version()))
	setText(d.byID("clusterstats"), st)
	tags := ""
	if cs := m.sums[z]; len(cs.TopTags) > 0 {
		tags = "<div>top tags (share of the cluster's images):</div>"
		for _, t := range cs.TopTags {
			tags += `<span class="tag">#` + esc(t.Tag) + " <i>" + pct(float64(t.Count)/math.Max(1, float64(size))) + "</i></span>"
		}
		tags += "<div>top-tag purity " + pct(cs.TopShare) + "</div>"
	}
	if q := m.metrics; q != nil {
		// The clustering's quality as a whole, for scale.
		tags += `<table class="q"><tr><td>stability NMI</td><td>` + fnum(q.StabilityNMI) + `</td></tr>`
		if m.run.Labels {
			tags += `<tr><td>NMI vs labels</td><td>` + fnum(q.LabelNMI) + `</td></tr><tr><td>ARI vs labels</td><td>` + fnum(q.LabelARI) +
				`</td></tr><tr><td>purity vs labels</td><td>` + fnum(q.LabelPurity) + `</td></tr>`
		}
		tags += `</table>`
	}
	setHTML(d.byID("clustertags"), tags)
	p.seq++
	seq := p.seq
	url := "/api/clusters/" + itoa(int(sup)) + "/" + itoa(int(z)) + "?page=" + itoa(p.page)
	p.a.fetchJSON("GET", url, "", func(status int, v js.Value, err string) {
		if seq != p.seq {
			return
		}
		grid := d.byID("clustergrid")
		if status != 200 || err != "" {
			setHTML(grid, `<span class="err">`+esc(errMsg(status, v, err))+`</span>`)
			return
		}
		p.pages = max(jsInt(v, "pages"), 1)
		setText(d.byID("pageinfo"), "page "+itoa(p.page+1)+" of "+itoa(p.pages))
		var b strings.Builder
		for _, im := range jsArr(v, "images") {
			id := jsInt(im, "id")
			var tt []string
			for _, t := range jsArr(im, "tags") {
				tt = append(tt, "#"+t.String())
			}
			b.WriteString(`<img loading="lazy" src="` + thumbURL(int32(id)) + `" title="image ` + itoa(id) + " " + esc(strings.Join(tt, " ")) + `" alt="image ` + itoa(id) + `">`)
		}
		setHTML(grid, b.String())
		p.extraFigures(v)
	})
}

// extraFigures shows c-TF-IDF keywords and quality figures when the
// cluster's answer carries them.
func (p *detailPanel) extraFigures(v js.Value) {
	var b strings.Builder
	if kws := jsArr(v, "keywords"); len(kws) > 0 {
		b.WriteString("<div>c-TF-IDF keywords:</div>")
		for _, k := range kws {
			word := jsStr(k, "tag")
			if word == "" {
				word = jsStr(k, "keyword")
			}
			if word == "" && k.Type() == js.TypeString {
				word = k.String()
			}
			b.WriteString(`<span class="tag kw">` + esc(word))
			if w := k.Get("weight"); w.Type() == js.TypeNumber {
				b.WriteString(" <i>" + ftoa(w.Float(), 2) + "</i>")
			} else if w := k.Get("score"); w.Type() == js.TypeNumber {
				b.WriteString(" <i>" + ftoa(w.Float(), 2) + "</i>")
			}
			b.WriteString("</span>")
		}
	}
	if q := v.Get("quality"); q.Type() == js.TypeObject {
		b.WriteString(`<table class="q">`)
		keys := js.Global().Get("Object").Call("keys", q)
		for i := 0; i < keys.Length(); i++ {
			k := keys.Index(i).String()
			if x := q.Get(k); x.Type() == js.TypeNumber {
				b.WriteString("<tr><td>" + esc(k) + "</td><td>" + ftoa(x.Float(), 3) + "</td></tr>")
			}
		}
		b.WriteString("</table>")
	}
	if b.Len() > 0 {
		el := p.a.dom.byID("clustertags")
		setHTML(el, el.Get("innerHTML").String()+b.String())
	}
}

// fnum writes a quality figure, "–" where it does not apply (NaN).
func fnum(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	return ftoa(f, 3)
}

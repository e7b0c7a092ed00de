//go:build js && wasm

package main

import (
	"math"
	"strings"
	"syscall/js"

	"github.com/deepercluster/deepercluster/wasm/ui"
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
	// noteFor is the sub-cluster the note form was filled for; noteEdited
	// notes that the user changed it since (new notes do not overwrite it).
	noteFor    int32
	noteEdited bool
	noteMsg    string
	// figures are the labels of the quality figures last shown.
	figures []string
}

func newDetailPanel(a *app) *detailPanel {
	p := &detailPanel{a: a, noteFor: -1}
	d := a.dom
	for _, id := range []string{"note-name", "note-verdict", "note-text"} {
		d.on(d.byID(id), "input", func(js.Value) { p.noteEdited = true })
	}
	d.on(d.byID("noteform"), "submit", func(e js.Value) {
		e.Call("preventDefault")
		p.saveNote()
	})
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
		if p.a.m.selected != p.noteFor {
			p.noteEdited, p.noteMsg = false, ""
		}
		p.refresh()
	case summariesEvent:
		p.refresh()
	case notesEvent:
		p.fillNote()
	}
}

// fillNote shows the selected cluster's note in the form, unless the user
// is editing it.
func (p *detailPanel) fillNote() {
	m := &p.a.m
	d := p.a.dom
	z := m.selected
	if z < 0 {
		return
	}
	n := m.notes[z]
	if !p.noteEdited || p.noteFor != z {
		d.byID("note-name").Set("value", n.name)
		d.byID("note-verdict").Set("value", n.verdict)
		d.byID("note-text").Set("value", n.text)
		p.noteFor, p.noteEdited = z, false
	}
	setText(d.byID("note-lineage"), n.lineage)
	setText(d.byID("note-msg"), p.noteMsg)
}

// saveNote sends the form to PUT /api/clusters/{super}/{sub}/note.
func (p *detailPanel) saveNote() {
	m := &p.a.m
	d := p.a.dom
	z := m.selected
	if z < 0 || m.asg == nil || int(z) >= len(m.asg.SubParent) {
		return
	}
	o := ui.NewObj().Str("name", d.byID("note-name").Get("value").String()).
		Str("verdict", d.byID("note-verdict").Get("value").String()).
		Str("text", d.byID("note-text").Get("value").String())
	url := "/api/clusters/" + itoa(int(m.asg.SubParent[z])) + "/" + itoa(int(z)) + "/note"
	p.noteMsg = "saving…"
	setText(d.byID("note-msg"), p.noteMsg)
	p.a.fetchJSON("PUT", url, o.String(), func(status int, v js.Value, err string) {
		if status != 200 || err != "" {
			p.noteMsg = "not saved: " + errMsg(status, v, err)
			setHTML(d.byID("note-msg"), `<span class="err">`+esc(p.noteMsg)+`</span>`)
			return
		}
		p.noteMsg = "saved for version " + itoa(jsInt(v, "version"))
		p.noteEdited = false
		p.a.loadNotes()
	})
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
	title := "Sub-cluster " + itoa(int(z)) + " of super-cluster " + itoa(int(sup))
	if n, ok := m.notes[z]; ok && n.name != "" {
		title = n.name + verdictMark(n.verdict) + " · sub-cluster " + itoa(int(z)) + " of super " + itoa(int(sup))
	}
	setText(d.byID("clustertitle"), title)
	if p.noteFor != z {
		p.noteEdited = false
	}
	p.fillNote()
	size := m.subSize[z]
	st := itoa(size) + " images · " + pct(float64(size)/math.Max(1, float64(m.superSize[sup]))) + " of its super-cluster · version " + itoa(int(m.version()))
	setText(d.byID("clusterstats"), st)
	tags := ""
	if cs := m.sums[z]; len(cs.TopTags) > 0 {
		tags = "<div>top tags (share of the cluster's images):</div>"
		for _, t := range cs.TopTags {
			tags += `<span class="tag">#` + esc(t.Tag) + " <i>" + pct(float64(t.Count)/math.Max(1, float64(size))) + "</i></span>"
		}
		tags += "<div>share of its images carrying its top tag: " + pct(cs.TopShare) + "</div>"
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
			b.WriteString(`<img loading="lazy" data-id="` + itoa(id) + `" src="` + thumbURL(int32(id)) + `" title="image ` + itoa(id) + " " + esc(strings.Join(tt, " ")) + ` (click to open)" alt="image ` + itoa(id) + `">`)
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
		b.WriteString("<div>keywords that set it apart (c-TF-IDF):</div>")
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
	p.figures = p.figures[:0]
	if q := v.Get("quality"); q.Type() == js.TypeObject {
		b.WriteString(`<table class="q">`)
		keys := js.Global().Get("Object").Call("keys", q)
		for i := 0; i < keys.Length(); i++ {
			k := keys.Index(i).String()
			if x := q.Get(k); x.Type() == js.TypeNumber {
				name, val := figureName(k, x.Float())
				p.figures = append(p.figures, name)
				b.WriteString("<tr><td>" + esc(name) + "</td><td>" + val + "</td></tr>")
			}
		}
		b.WriteString("</table>")
	}
	if b.Len() > 0 {
		el := p.a.dom.byID("clustertags")
		setHTML(el, el.Get("innerHTML").String()+b.String())
	}
}

// figureNames are the human names of the figures the server's cluster
// answer carries under "quality", with how to write their values.
var figureNames = map[string]struct {
	name    string
	percent bool
}{
	"dataset_share": {"share of the dataset", true},
	"label_purity":  {"label purity (share of its most common label)", true},
	"top_tag_share": {"share of its images carrying its top tag", true},
}

// figureName names a figure for people: from figureNames, else the key
// with its underscores turned into spaces.
func figureName(key string, v float64) (name, value string) {
	if f, ok := figureNames[key]; ok {
		if f.percent {
			return f.name, ftoa(100*v, 1) + "%"
		}
		return f.name, fnum(v)
	}
	return strings.ReplaceAll(key, "_", " "), fnum(v)
}

// fnum writes a quality figure, "–" where it does not apply (NaN).
func fnum(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	return ftoa(f, 3)
}

//go:build js && wasm

package main

import (
	"slices"
	"strconv"
	"strings"
	"syscall/js"

	"github.com/deepercluster/deepercluster/wasm/ui"
)

// searchPanel is the hashtag search: the query box with its suggestions,
// the ranked clusters that match, and the highlight it asks the map for.
type searchPanel struct {
	a       *app
	query   string
	version int // server's version of the answer, -1 none
	hits    []hit
	ids     []int32 // highlighted sub ids, sorted
	err     string
	seq     int // answers to older requests are ignored
	sugSeq  int // suggestions for older input are ignored
}

type hit struct {
	super, sub         int32
	size, count        int
	share, lift, score float64
}

// carries says whether a cluster carries the searched tags: they are more
// common in it than in the dataset (lift above 1). The others hold a few
// matches by chance; they are listed apart and not lit on the map.
func (h hit) carries() bool { return h.lift > 1 }

func newSearchPanel(a *app) *searchPanel {
	p := &searchPanel{a: a}
	p.bind()
	return p
}

func (p *searchPanel) active() bool { return p.query != "" }

func (p *searchPanel) handle(ev event) {
	if _, ok := ev.(versionEvent); ok {
		// The hits light the new version's clusters until the search,
		// re-run because its ids belong to the previous version, answers.
		p.applyHighlight()
		if p.active() {
			p.run(p.query)
		}
	}
}

func (p *searchPanel) bind() {
	d := p.a.dom
	d.on(d.byID("searchform"), "submit", func(e js.Value) {
		e.Call("preventDefault")
		p.hideSuggest()
		p.run(strings.TrimSpace(d.byID("q").Get("value").String()))
	})
	d.on(d.byID("clearsearch"), "click", func(js.Value) {
		d.byID("q").Set("value", "")
		p.hideSuggest()
		p.run("")
	})
	d.on(d.byID("q"), "input", func(js.Value) {
		p.sugSeq++
		seq := p.sugSeq
		d.once(120, func() {
			if seq == p.sugSeq {
				p.suggest()
			}
		})
	})
	d.on(d.byID("q"), "keydown", func(e js.Value) {
		if e.Get("key").String() == "Escape" {
			p.hideSuggest()
		}
	})
	d.on(d.byID("suggest"), "click", func(e js.Value) {
		li := e.Get("target").Call("closest", "li")
		if li.IsNull() {
			return
		}
		tag := li.Get("dataset").Get("tag").String()
		q := d.byID("q")
		q.Set("value", replaceLastTerm(q.Get("value").String(), tag))
		p.hideSuggest()
		p.run(strings.TrimSpace(q.Get("value").String()))
	})
	d.on(d.byID("results"), "click", func(e js.Value) {
		li := e.Get("target").Call("closest", "li[data-i]")
		if li.IsNull() {
			return
		}
		i, err := strconv.Atoi(li.Get("dataset").Get("i").String())
		if err != nil || i < 0 || i >= len(p.hits) {
			return
		}
		h := p.hits[i]
		p.a.emit(focusEvent{super: h.super, sub: h.sub})
	})
}

// lastTerm is the word being typed: what autocomplete completes.
func lastTerm(q string) string {
	i := strings.LastIndexAny(q, " ,()")
	t := q[i+1:]
	return strings.TrimLeft(t, "#+-")
}

func replaceLastTerm(q, tag string) string {
	i := strings.LastIndexAny(q, " ,()")
	pre := q[:i+1]
	t := q[i+1:]
	hash := ""
	if strings.HasPrefix(t, "#") {
		hash = "#"
	}
	if strings.Contains(tag, " ") {
		return pre + hash + `"` + tag + `"`
	}
	return pre + hash + tag
}

func (p *searchPanel) hideSuggest() {
	p.sugSeq++
	el := p.a.dom.byID("suggest")
	el.Set("hidden", true)
	setHTML(el, "")
}

func (p *searchPanel) suggest() {
	d := p.a.dom
	prefix := lastTerm(d.byID("q").Get("value").String())
	if strings.TrimSpace(prefix) == "" {
		p.hideSuggest()
		return
	}
	seq := p.sugSeq
	url := "/api/suggest?prefix=" + js.Global().Call("encodeURIComponent", prefix).String()
	p.a.fetchJSON("GET", url, "", func(status int, v js.Value, err string) {
		if seq != p.sugSeq || status != 200 || err != "" {
			return
		}
		tags := jsArr(v, "tags")
		el := d.byID("suggest")
		if len(tags) == 0 {
			el.Set("hidden", true)
			return
		}
		var b strings.Builder
		for _, t := range tags {
			tag := jsStr(t, "tag")
			b.WriteString(`<li data-tag="` + esc(tag) + `"><span>#` + esc(tag) + `</span><span class="muted">` + itoa(jsInt(t, "count")) + `</span></li>`)
		}
		setHTML(el, b.String())
		el.Set("hidden", false)
	})
}

// run asks the index for the clusters matching q and highlights them on
// the map; an empty q clears the search.
func (p *searchPanel) run(q string) {
	p.seq++
	seq := p.seq
	p.query = q
	if q == "" {
		p.hits, p.ids, p.err, p.version = nil, nil, "", -1
		p.applyHighlight()
		p.renderResults()
		return
	}
	d := p.a.dom
	setText(d.byID("searchinfo"), "searching…")
	p.a.fetchJSON("GET", searchURL(q), "", func(status int, v js.Value, err string) {
		if seq != p.seq {
			return
		}
		if status != 200 || err != "" {
			p.hits, p.ids, p.version = nil, nil, -1
			p.err = errMsg(status, v, err)
			p.applyHighlight()
			p.renderResults()
			return
		}
		p.err = ""
		res := v.Get("result")
		p.version = jsInt(res, "version")
		p.hits = p.hits[:0]
		if cur := p.a.m.version(); p.version >= 0 && uint32(p.version) < cur {
			// The index has not caught up with the version on screen:
			// its cluster ids would light the wrong cells. Ask again.
			p.applyHighlight()
			setText(d.byID("searchinfo"), "the index is catching up with version "+itoa(int(cur))+"…")
			d.once(400, func() {
				if seq == p.seq {
					p.run(q)
				}
			})
			return
		}
		// Sub-clusters first (what the map highlights), then the
		// super-clusters, each ranked by the index's score.
		for _, c := range jsArr(res, "subs") {
			p.hits = append(p.hits, hit{super: int32(jsInt(c, "super")), sub: int32(jsInt(c, "id")),
				size: jsInt(c, "size"), count: jsInt(c, "count"), share: jsFloat(c, "share"),
				lift: jsFloat(c, "lift"), score: jsFloat(c, "score")})
		}
		for _, c := range jsArr(res, "supers") {
			p.hits = append(p.hits, hit{super: int32(jsInt(c, "id")), sub: -1,
				size: jsInt(c, "size"), count: jsInt(c, "count"), share: jsFloat(c, "share"),
				lift: jsFloat(c, "lift"), score: jsFloat(c, "score")})
		}
		p.applyHighlight()
		p.renderResults()
	})
}

// searchURL turns what the user typed into the server's query: hashtags
// separated by commas or spaces are ANDed, "OR" between them ORs them, a
// trailing * asks for a tag prefix, quotes keep a tag with spaces whole.
func searchURL(q string) string {
	enc := func(s string) string { return js.Global().Call("encodeURIComponent", s).String() }
	tags, op := ui.ParseTags(q)
	u := "/api/search?limit=1000&q=" + enc(strings.Join(tags, ","))
	if op == "or" {
		u += "&op=or"
	}
	return u
}

// applyHighlight turns the hits into per-cluster flags of the current
// version and hands them to the map: a sub-cluster hit lights that
// cluster, a super-cluster hit (sub -1) lights the super-cluster's cell.
func (p *searchPanel) applyHighlight() {
	p.ids = p.ids[:0]
	as := p.a.m.asg
	if !p.active() || as == nil {
		p.a.emit(highlightEvent{query: p.query})
		return
	}
	hl := make([]bool, len(as.SubParent))
	hs := make([]bool, as.M)
	for _, h := range p.hits {
		if !h.carries() {
			continue
		}
		if h.sub >= 0 && int(h.sub) < len(hl) {
			if !hl[h.sub] {
				p.ids = append(p.ids, h.sub)
			}
			hl[h.sub] = true
			hs[as.SubParent[h.sub]] = true
		} else if h.super >= 0 && int(h.super) < len(hs) {
			hs[h.super] = true
		}
	}
	slices.Sort(p.ids)
	p.a.emit(highlightEvent{query: p.query, subs: hl, super: hs})
}

func (p *searchPanel) renderResults() {
	d := p.a.dom
	info := d.byID("searchinfo")
	list := d.byID("results")
	carriers, rest := p.split()
	switch {
	case !p.active():
		setText(info, "")
	case p.err != "":
		setHTML(info, `<span class="err">`+esc(p.err)+`</span>`)
	default:
		restSubs := 0
		for _, h := range p.hits {
			if h.sub >= 0 && !h.carries() {
				restSubs++
			}
		}
		setText(info, itoa(len(p.ids))+" sub-clusters carry "+p.query+" (lift above 1: highlighted, the others dimmed); "+
			itoa(restSubs)+" more hold it only by chance")
	}
	var b strings.Builder
	shown, rank := 0, 0
	item := func(i int, h hit, class string) {
		if shown >= 200 {
			return
		}
		shown++
		rank++
		// Each group is numbered from 1: the headings are list items too.
		b.WriteString(`<li class="` + class + `" value="` + itoa(rank) + `" data-i="` + itoa(i) + `" title="click to zoom to it"><span class="score" title="` + ui.SearchScoreTitle + `">` + ui.SearchScoreLabel(h.score) + `</span>`)
		if h.sub >= 0 {
			b.WriteString("sub " + itoa(int(h.sub)) + " <span class=muted>(super " + itoa(int(h.super)) + ")</span>")
		} else {
			b.WriteString("super " + itoa(int(h.super)))
		}
		if n, ok := p.a.m.notes[h.sub]; ok && h.sub >= 0 && n.name != "" {
			b.WriteString(" <b>" + esc(n.name) + "</b>")
		}
		b.WriteString(`<br><span class="muted">` + itoa(h.count) + "/" + itoa(h.size) + " images, share " + pct(h.share) + ", lift " + ftoa(h.lift, 1) + "</span></li>")
	}
	if p.active() && p.err == "" && carriers > 0 {
		b.WriteString(`<li class="split">carry the tag (lift above 1): ` + itoa(carriers) + ` clusters</li>`)
	}
	for i, h := range p.hits {
		if h.carries() {
			item(i, h, "carrier")
		}
	}
	if rest > 0 {
		b.WriteString(`<li class="split">hold it by chance (lift 1 or less): ` + itoa(rest) + ` clusters</li>`)
	}
	rank = 0
	for i, h := range p.hits {
		if !h.carries() {
			item(i, h, "rest")
		}
	}
	setHTML(list, b.String())
}

// split counts the hits that carry the tags and the others.
func (p *searchPanel) split() (carriers, rest int) {
	for _, h := range p.hits {
		if h.carries() {
			carriers++
		} else {
			rest++
		}
	}
	return carriers, rest
}

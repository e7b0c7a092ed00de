//go:build js && wasm

package main

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"syscall/js"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wasm/ui"
)

// ---- header ----

func (a *app) setRun(info deepercluster.RunInfo) {
	first := !a.haveRun
	a.run = info
	a.haveRun = true
	a.progress = info.Progress
	if first || !a.rc.edited {
		a.rc.fill(a)
	}
	a.updateHeader()
}

func (a *app) updateHeader() {
	r := a.run
	s := r.Dataset + " · " + itoa(r.Images) + " images · " + string(r.Params.Preset) +
		" m=" + itoa(r.Params.M) + " k=" + itoa(r.Params.K) + " T=" + itoa(r.Params.ReclusterEvery) +
		" · version " + itoa(int(a.version()))
	if a.asg != nil {
		s += " · " + itoa(len(a.asg.SubParent)) + " sub-clusters"
	}
	setText(a.dom.byID("runinfo"), s)
	p := a.progress
	ph := string(p.Phase)
	if p.Phase == deepercluster.PhaseTraining && p.Epochs > 0 {
		ph += " · epoch " + itoa(p.Epoch) + "/" + itoa(p.Epochs)
		if p.Steps > 0 {
			ph += " · step " + itoa(p.Step) + "/" + itoa(p.Steps)
		}
		if p.ImagesPerSec > 0 {
			ph += " · " + ftoa(p.ImagesPerSec, 0) + " img/s"
		}
	}
	setText(a.dom.byID("phase"), ph)
	done := p.Done
	if math.IsNaN(done) {
		done = 0
	}
	a.dom.byID("progressbar").Get("style").Set("width", ftoa(100*math.Max(0, math.Min(1, done)), 1)+"%")
}

func (a *app) onProgress(p deepercluster.Progress) {
	a.progress = p
	a.run.Progress = p
	if p.Phase == deepercluster.PhaseTraining {
		a.charts.addProgress(p)
	}
	a.rc.update(a)
	a.updateHeader()
}

func (a *app) onMetrics(m deepercluster.Metrics) {
	a.charts.addMetrics(m)
}

// ---- search ----

type hit struct {
	super, sub         int32
	size, count        int
	share, lift, score float64
}

type searchState struct {
	query    string
	version  int // server's version of the answer, -1 none
	hits     []hit
	ids      []int32 // highlighted sub ids, sorted
	err      string
	seq      int // answers to older requests are ignored
	sugSeq   int
	sugTimer js.Value
}

func (s *searchState) active() bool { return s.query != "" }

// onVersion re-runs the search: its ids belong to the previous version.
func (s *searchState) onVersion(a *app) {
	if s.active() {
		a.runSearch(s.query)
	}
}

func (a *app) bindPanels() {
	d := a.dom
	d.on(d.byID("searchform"), "submit", func(e js.Value) {
		e.Call("preventDefault")
		a.hideSuggest()
		a.runSearch(strings.TrimSpace(d.byID("q").Get("value").String()))
	})
	d.on(d.byID("clearsearch"), "click", func(js.Value) {
		d.byID("q").Set("value", "")
		a.hideSuggest()
		a.runSearch("")
	})
	d.on(d.byID("q"), "input", func(js.Value) {
		a.search.sugSeq++
		seq := a.search.sugSeq
		d.once(120, func() {
			if seq == a.search.sugSeq {
				a.suggest()
			}
		})
	})
	d.on(d.byID("q"), "keydown", func(e js.Value) {
		if e.Get("key").String() == "Escape" {
			a.hideSuggest()
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
		a.hideSuggest()
		a.runSearch(strings.TrimSpace(q.Get("value").String()))
	})
	d.on(d.byID("results"), "click", func(e js.Value) {
		li := e.Get("target").Call("closest", "li")
		if li.IsNull() {
			return
		}
		i, err := strconv.Atoi(li.Get("dataset").Get("i").String())
		if err != nil || i < 0 || i >= len(a.search.hits) {
			return
		}
		h := a.search.hits[i]
		if a.tree == nil {
			return
		}
		if h.sub >= 0 && int(h.sub) < len(a.tree.SubNode) {
			a.zoomTo(a.tree.Nodes[a.tree.SubNode[h.sub]].Rect)
			a.selectSub(h.sub)
		} else if h.super >= 0 && int(h.super) < len(a.tree.SuperNode) {
			a.zoomTo(a.tree.Nodes[a.tree.SuperNode[h.super]].Rect)
		}
	})
	d.on(d.byID("prevpage"), "click", func(js.Value) {
		if a.sel.page > 0 {
			a.sel.page--
			a.refreshSelection()
		}
	})
	d.on(d.byID("nextpage"), "click", func(js.Value) {
		if a.sel.page+1 < a.sel.pages {
			a.sel.page++
			a.refreshSelection()
		}
	})
	a.rc.bind(a)
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

func (a *app) hideSuggest() {
	a.search.sugSeq++
	el := a.dom.byID("suggest")
	el.Set("hidden", true)
	setHTML(el, "")
}

func (a *app) suggest() {
	p := lastTerm(a.dom.byID("q").Get("value").String())
	if strings.TrimSpace(p) == "" {
		a.hideSuggest()
		return
	}
	seq := a.search.sugSeq
	url := "/api/suggest?prefix=" + js.Global().Call("encodeURIComponent", p).String()
	a.fetchJSON("GET", url, "", func(status int, v js.Value, err string) {
		if seq != a.search.sugSeq || status != 200 || err != "" {
			return
		}
		tags := jsArr(v, "tags")
		el := a.dom.byID("suggest")
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

// runSearch asks the index for the clusters matching q and highlights
// them on the map; an empty q clears the search.
func (a *app) runSearch(q string) {
	s := &a.search
	s.seq++
	seq := s.seq
	s.query = q
	if q == "" {
		s.hits, s.ids, s.err, s.version = nil, nil, "", -1
		a.applyHighlight()
		a.renderResults()
		return
	}
	setText(a.dom.byID("searchinfo"), "searching…")
	a.fetchJSON("GET", searchURL(q), "", func(status int, v js.Value, err string) {
		if seq != s.seq {
			return
		}
		if status != 200 || err != "" {
			s.hits, s.ids, s.version = nil, nil, -1
			s.err = errMsg(status, v, err)
			a.applyHighlight()
			a.renderResults()
			return
		}
		s.err = ""
		res := v.Get("result")
		s.version = jsInt(res, "version")
		s.hits = s.hits[:0]
		if s.version >= 0 && uint32(s.version) < a.version() {
			// The index has not caught up with the version on screen:
			// its cluster ids would light the wrong cells. Ask again.
			a.applyHighlight()
			setText(a.dom.byID("searchinfo"), "the index is catching up with version "+itoa(int(a.version()))+"…")
			a.dom.once(400, func() {
				if seq == s.seq {
					a.runSearch(q)
				}
			})
			return
		}
		// Sub-clusters first (what the map highlights), then the
		// super-clusters, each ranked by the index's score.
		for _, c := range jsArr(res, "subs") {
			s.hits = append(s.hits, hit{super: int32(jsInt(c, "super")), sub: int32(jsInt(c, "id")),
				size: jsInt(c, "size"), count: jsInt(c, "count"), share: jsFloat(c, "share"),
				lift: jsFloat(c, "lift"), score: jsFloat(c, "score")})
		}
		for _, c := range jsArr(res, "supers") {
			s.hits = append(s.hits, hit{super: int32(jsInt(c, "id")), sub: -1,
				size: jsInt(c, "size"), count: jsInt(c, "count"), share: jsFloat(c, "share"),
				lift: jsFloat(c, "lift"), score: jsFloat(c, "score")})
		}
		a.applyHighlight()
		a.renderResults()
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

// applyHighlight turns the search hits into the per-cluster flags the
// renderer reads: a sub-cluster hit lights that cluster, a super-cluster
// hit (sub -1) lights the super-cluster's cell.
func (a *app) applyHighlight() {
	s := &a.search
	s.ids = s.ids[:0]
	if !s.active() || a.asg == nil {
		a.style.Highlight, a.style.HighlightSuper = nil, nil
		a.dirty = true
		return
	}
	hl := make([]bool, len(a.asg.SubParent))
	hs := make([]bool, a.asg.M)
	for _, h := range s.hits {
		if h.sub >= 0 && int(h.sub) < len(hl) {
			if !hl[h.sub] {
				s.ids = append(s.ids, h.sub)
			}
			hl[h.sub] = true
			hs[a.asg.SubParent[h.sub]] = true
		} else if h.super >= 0 && int(h.super) < len(hs) {
			hs[h.super] = true
		}
	}
	slices.Sort(s.ids)
	a.style.Highlight, a.style.HighlightSuper = hl, hs
	a.dirty = true
}

func (a *app) renderResults() {
	s := &a.search
	info := a.dom.byID("searchinfo")
	list := a.dom.byID("results")
	switch {
	case !s.active():
		setText(info, "")
	case s.err != "":
		setHTML(info, `<span class="err">`+esc(s.err)+`</span>`)
	default:
		setText(info, itoa(len(s.ids))+" sub-clusters hold "+s.query+" (highlighted; the others dimmed)")
	}
	var b strings.Builder
	for i, h := range s.hits {
		if i >= 200 {
			break
		}
		b.WriteString(`<li data-i="` + itoa(i) + `" title="click to zoom to it"><span class="score">` + ftoa(h.score, 3) + `</span>`)
		if h.sub >= 0 {
			b.WriteString("sub " + itoa(int(h.sub)) + " <span class=muted>(super " + itoa(int(h.super)) + ")</span>")
		} else {
			b.WriteString("super " + itoa(int(h.super)))
		}
		b.WriteString(`<br><span class="muted">` + itoa(h.count) + "/" + itoa(h.size) + " images, share " + pct(h.share) + ", lift " + ftoa(h.lift, 1) + "</span></li>")
	}
	setHTML(list, b.String())
}

// ---- the selected cluster's panel ----

type selection struct {
	sub   int32
	page  int
	pages int
	seq   int
}

func (a *app) selectSub(z int32) {
	a.sel.sub = z
	a.sel.page = 0
	a.dirty = true
	a.refreshSelection()
}

// refreshSelection fills the side panel: what the client knows at once
// (size, top tags with shares) and then, from /api/clusters/{super}/{sub},
// the page of images and whatever quality figures the server adds.
func (a *app) refreshSelection() {
	box := a.dom.byID("clusterbox")
	z := a.sel.sub
	if z < 0 || a.asg == nil || int(z) >= len(a.asg.SubParent) {
		box.Set("hidden", true)
		return
	}
	box.Set("hidden", false)
	sup := a.asg.SubParent[z]
	setText(a.dom.byID("clustertitle"), "Sub-cluster "+itoa(int(z))+" of super-cluster "+itoa(int(sup)))
	size := a.subSize[z]
	st := itoa(size) + " images · " + pct(float64(size)/math.Max(1, float64(a.superSize[sup]))) + " of its super-cluster · version " + itoa(int(a.version()))
	setText(a.dom.byID("clusterstats"), st)
	tags := ""
	if cs := a.sums[z]; len(cs.TopTags) > 0 {
		tags = "<div>top tags (share of the cluster's images):</div>"
		for _, t := range cs.TopTags {
			tags += `<span class="tag">#` + esc(t.Tag) + " <i>" + pct(float64(t.Count)/math.Max(1, float64(size))) + "</i></span>"
		}
		tags += "<div>top-tag purity " + pct(cs.TopShare) + "</div>"
	}
	if m := a.charts.latest; m != nil {
		// The clustering's quality as a whole, for scale.
		tags += `<table class="q"><tr><td>stability NMI</td><td>` + fnum(m.StabilityNMI) + `</td></tr>`
		if a.run.Labels {
			tags += `<tr><td>NMI vs labels</td><td>` + fnum(m.LabelNMI) + `</td></tr><tr><td>ARI vs labels</td><td>` + fnum(m.LabelARI) +
				`</td></tr><tr><td>purity vs labels</td><td>` + fnum(m.LabelPurity) + `</td></tr>`
		}
		tags += `</table>`
	}
	setHTML(a.dom.byID("clustertags"), tags)
	a.sel.seq++
	seq := a.sel.seq
	url := "/api/clusters/" + itoa(int(sup)) + "/" + itoa(int(z)) + "?page=" + itoa(a.sel.page)
	a.fetchJSON("GET", url, "", func(status int, v js.Value, err string) {
		if seq != a.sel.seq {
			return
		}
		grid := a.dom.byID("clustergrid")
		if status != 200 || err != "" {
			setHTML(grid, `<span class="err">`+esc(errMsg(status, v, err))+`</span>`)
			return
		}
		a.sel.pages = max(jsInt(v, "pages"), 1)
		setText(a.dom.byID("pageinfo"), "page "+itoa(a.sel.page+1)+" of "+itoa(a.sel.pages))
		var b strings.Builder
		for _, im := range jsArr(v, "images") {
			id := jsInt(im, "id")
			var tt []string
			for _, t := range jsArr(im, "tags") {
				tt = append(tt, "#"+t.String())
			}
			b.WriteString(`<img loading="lazy" src="` + a.thumbURL(int32(id)) + `" title="image ` + itoa(id) + " " + esc(strings.Join(tt, " ")) + `" alt="image ` + itoa(id) + `">`)
		}
		setHTML(grid, b.String())
		a.extraFigures(v)
	})
}

// extraFigures shows c-TF-IDF keywords and quality figures when the
// cluster's answer carries them.
func (a *app) extraFigures(v js.Value) {
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
		el := a.dom.byID("clustertags")
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

// ---- recluster ----

type reclusterState struct {
	edited  bool
	pending bool
	from    uint32
	msg     string
	field   string
}

var rcFields = []struct{ id, field string }{
	{"rc-preset", "preset"}, {"rc-m", "m"}, {"rc-k", "k"}, {"rc-t", "recluster_every"}, {"rc-pca", "pca_dim"},
}

func (r *reclusterState) bind(a *app) {
	d := a.dom
	for _, f := range rcFields {
		d.on(d.byID(f.id), "input", func(js.Value) { r.edited = true })
	}
	d.on(d.byID("reclusterform"), "submit", func(e js.Value) {
		e.Call("preventDefault")
		r.submit(a)
	})
}

func (r *reclusterState) fill(a *app) {
	p := a.run.Params
	d := a.dom
	if p.Preset != "" {
		d.byID("rc-preset").Set("value", string(p.Preset))
	}
	d.byID("rc-m").Set("value", itoa(p.M))
	d.byID("rc-k").Set("value", itoa(p.K))
	d.byID("rc-t").Set("value", itoa(p.ReclusterEvery))
	d.byID("rc-pca").Set("value", itoa(p.PCADim))
}

// params reads the form, naming the first field that is not a number.
func (r *reclusterState) params(a *app) (deepercluster.RunParams, error) {
	d := a.dom
	num := func(id, field string) (int, error) {
		v := strings.TrimSpace(d.byID(id).Get("value").String())
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, &deepercluster.FieldError{Field: field, Msg: "must be a whole number, got \"" + v + "\""}
		}
		return n, nil
	}
	var p deepercluster.RunParams
	p.Preset = deepercluster.Preset(d.byID("rc-preset").Get("value").String())
	var err error
	if p.M, err = num("rc-m", "m"); err != nil {
		return p, err
	}
	if p.K, err = num("rc-k", "k"); err != nil {
		return p, err
	}
	if p.ReclusterEvery, err = num("rc-t", "recluster_every"); err != nil {
		return p, err
	}
	if p.PCADim, err = num("rc-pca", "pca_dim"); err != nil {
		return p, err
	}
	// The same checks as the server, from the same code.
	return p, p.Validate(a.run.Images)
}

func (r *reclusterState) submit(a *app) {
	if r.busy(a) {
		return
	}
	p, err := r.params(a)
	r.field = ""
	if err != nil {
		if fe, ok := err.(*deepercluster.FieldError); ok {
			r.field = fe.Field
		}
		r.msg = "invalid: " + err.Error()
		r.update(a)
		return
	}
	body := ui.NewObj().Str("preset", string(p.Preset)).Int("m", int64(p.M)).Int("k", int64(p.K)).
		Int("recluster_every", int64(p.ReclusterEvery)).Int("pca_dim", int64(p.PCADim)).String()
	r.pending = true
	r.from = a.version()
	r.msg = "sending…"
	r.update(a)
	a.fetchJSON("POST", "/api/recluster", body, func(status int, v js.Value, err string) {
		switch {
		case status == 202:
			r.msg = "job " + itoa(jsInt(v, "id")) + " accepted: reclustering after version " + itoa(int(r.from)) + "…"
			r.watch(a)
		case status == 409:
			r.msg = "a reclustering is already running: " + errMsg(status, v, err)
			r.watch(a)
		default:
			r.pending = false
			r.msg = "refused: " + errMsg(status, v, err)
			if f := jsStr(v, "field"); f != "" {
				r.field = f
			}
		}
		r.update(a)
	})
}

// watch asks the server every few seconds whether the job still runs, so
// the form comes back even if its version never arrives (a failed job).
func (r *reclusterState) watch(a *app) {
	a.dom.once(3000, func() {
		if !r.pending {
			return
		}
		a.fetchJSON("GET", "/api/run", "", func(status int, v js.Value, err string) {
			if !r.pending {
				return
			}
			if status == 200 && err == "" {
				job := v.Get("job")
				done := job.Type() != js.TypeObject || jsStr(job, "state") != "running"
				// A finished job whose version has not reached us yet:
				// its delta is on the way.
				if done && job.Type() == js.TypeObject && jsInt(job, "version") > int(a.version()) {
					done = false
				}
				if done {
					r.pending = false
					if a.version() <= r.from {
						r.msg = "the job ended without a new version"
					}
					r.update(a)
					return
				}
			}
			r.watch(a)
		})
	})
}

// busy: a job was accepted and its version has not arrived, or the run is
// in one of the reclustering phases.
func (r *reclusterState) busy(a *app) bool {
	if r.pending {
		return true
	}
	switch a.progress.Phase {
	case deepercluster.PhaseExtracting, deepercluster.PhasePCA, deepercluster.PhaseLevel1, deepercluster.PhaseLevel2:
		return true
	}
	return false
}

func (r *reclusterState) onVersion(a *app) {
	if r.pending && a.version() > r.from {
		r.pending = false
		r.edited = false
		r.msg = "version " + itoa(int(a.version())) + " arrived"
	}
	r.update(a)
}

var phaseNames = map[deepercluster.Phase]string{
	deepercluster.PhaseExtracting: "extracting features",
	deepercluster.PhasePCA:        "PCA",
	deepercluster.PhaseLevel1:     "k-means level 1",
	deepercluster.PhaseLevel2:     "k-means level 2",
}

func (r *reclusterState) update(a *app) {
	d := a.dom
	busy := r.busy(a)
	for _, f := range rcFields {
		el := d.byID(f.id)
		el.Set("disabled", busy)
		if f.field == r.field {
			el.Get("classList").Call("add", "invalid")
		} else {
			el.Get("classList").Call("remove", "invalid")
		}
	}
	d.byID("rc-go").Set("disabled", busy)
	msg := r.msg
	if name, ok := phaseNames[a.progress.Phase]; ok {
		msg = "running: " + name + " (" + pct(a.progress.Done) + ")"
	}
	cls := "muted"
	if strings.HasPrefix(msg, "invalid") || strings.HasPrefix(msg, "refused") {
		cls = "err"
	}
	el := d.byID("rc-msg")
	el.Set("className", cls)
	setText(el, msg)
}

// ---- live charts ----

type chartState struct {
	lossSup, lossSub, precSup, precSub []float64
	stab, label                        []float64
	latest                             *deepercluster.Metrics
	dirty                              bool
	last                               float64
	canvas                             *ui.Canvas
}

const maxChartPoints = 600

// push appends v, halving the history when it gets long so the chart keeps
// the whole run at a bounded cost.
func push(s []float64, v float64) []float64 {
	s = append(s, v)
	if len(s) > maxChartPoints {
		h := s[:0]
		for i := 0; i+1 < len(s); i += 2 {
			h = append(h, (s[i]+s[i+1])/2)
		}
		s = h
	}
	return s
}

func (c *chartState) addProgress(p deepercluster.Progress) {
	c.lossSup = push(c.lossSup, p.LossSuper)
	c.lossSub = push(c.lossSub, p.LossSub)
	c.precSup = push(c.precSup, p.PrecSuper)
	c.precSub = push(c.precSub, p.PrecSub)
	c.dirty = true
}

func (c *chartState) addMetrics(m deepercluster.Metrics) {
	c.latest = &m
	c.stab = append(c.stab, m.StabilityNMI)
	c.label = append(c.label, m.LabelNMI)
	c.dirty = true
}

var (
	blue   = ui.Color{R: 90, G: 176, B: 255, A: 255}
	orange = ui.Color{R: 255, G: 159, B: 67, A: 255}
	green  = ui.Color{R: 76, G: 207, B: 122, A: 255}
)

// maybeDraw redraws the charts at most four times a second.
func (c *chartState) maybeDraw(a *app, ts float64) {
	if !c.dirty || ts-c.last < 250 {
		return
	}
	c.dirty, c.last = false, ts
	if c.canvas == nil {
		c.canvas = ui.NewCanvas(300, 56)
	}
	last := func(s []float64) string {
		for i := len(s) - 1; i >= 0; i-- {
			if !math.IsNaN(s[i]) {
				return ftoa(s[i], 3)
			}
		}
		return "–"
	}
	draw := func(id, lbl string, series []ui.Series, lo, hi float64, text string) {
		el := a.dom.byID(id)
		w, h := el.Get("width").Int(), el.Get("height").Int()
		c.canvas.Resize(w, h)
		c.canvas.LineChart(series, lo, hi)
		ctx := el.Call("getContext", "2d")
		img := ctx.Call("createImageData", w, h)
		js.CopyBytesToJS(js.Global().Get("Uint8Array").New(img.Get("data").Get("buffer")), c.canvas.Pix)
		ctx.Call("putImageData", img, 0, 0)
		setText(a.dom.byID(lbl), text)
	}
	draw("chart-loss", "lbl-loss", []ui.Series{{Values: c.lossSup, Color: blue}, {Values: c.lossSub, Color: orange}}, 0, 0,
		last(c.lossSup)+" / "+last(c.lossSub))
	draw("chart-prec", "lbl-prec", []ui.Series{{Values: c.precSup, Color: blue}, {Values: c.precSub, Color: orange}}, 0, 1,
		last(c.precSup)+" / "+last(c.precSub))
	draw("chart-stab", "lbl-stab", []ui.Series{{Values: c.stab, Color: green}}, 0, 1, last(c.stab))
	lt := last(c.label)
	if a.haveRun && !a.run.Labels {
		lt = "no labels in this dataset"
	}
	draw("chart-label", "lbl-label", []ui.Series{{Values: c.label, Color: green}}, 0, 1, lt)
}

// ---- state for tests, and the frame benchmark ----

func (a *app) stateJSON() string {
	o := ui.NewObj().
		Bool("connected", a.sock.open).
		Int("reconnects", int64(a.sock.reconnects)).
		Int("version", int64(a.version())).
		Int("versions_received", int64(a.versions)).
		Str("mode", a.mode.String()).
		Str("phase", string(a.progress.Phase))
	if a.asg != nil {
		o.Int("images", int64(len(a.asg.Super))).Int("supers", int64(a.asg.M)).Int("subclusters", int64(len(a.asg.SubParent)))
	} else {
		o.Int("images", 0).Int("supers", 0).Int("subclusters", 0)
	}
	o.Int("clusters_drawn", int64(a.stats.Subs)).
		Int("cells_drawn", int64(a.stats.Drawn)).
		Int("cells_culled", int64(a.stats.Culled)).
		Int("cells_tiny", int64(a.stats.Tiny)).
		Int("highlighted_drawn", int64(a.stats.Highlighted)).
		Str("search_query", a.search.query).
		Int("search_version", int64(a.search.version)).
		Str("search_error", a.search.err).
		Ints("highlighted", a.search.ids).
		Int("results", int64(len(a.search.hits))).
		Int("selected", int64(a.sel.sub)).
		Int("hover", int64(a.hover)).
		Bool("animating", a.animStart > 0 || a.viewStart > 0).
		Int("frames", int64(a.frames)).
		Num("last_frame_ms", a.lastMs).
		Num("decode_ms", a.decodeMs).
		Num("layout_ms", a.layoutMs).
		Int("canvas_w", int64(a.canvas.W)).
		Int("canvas_h", int64(a.canvas.H)).
		Num("scale", a.view.Scale).
		Bool("recluster_busy", a.rc.busy(a)).
		Str("recluster_msg", a.rc.msg).
		Int("loss_points", int64(len(a.charts.lossSup))).
		Int("metrics_points", int64(len(a.charts.stab))).
		Str("last_error", a.lastErr)
	return o.String()
}

// benchRun drives a scripted pan and zoom, one step per animation frame,
// recording the time between frames (what the user sees) and the time to
// draw each one.
type benchRun struct {
	n         int
	i         int
	prev      float64
	intervals []float64
	render    []float64
	raster    []float64
	copyPut   []float64
	overlay   []float64
	resolve   js.Value
}

func (b *benchRun) step(a *app, ts float64) {
	if b.i > 0 {
		b.intervals = append(b.intervals, ts-b.prev)
		b.render = append(b.render, a.lastMs)
		b.raster = append(b.raster, a.phaseMs[0])
		b.copyPut = append(b.copyPut, a.phaseMs[1])
		b.overlay = append(b.overlay, a.phaseMs[2])
	}
	b.prev = ts
	if b.i >= b.n {
		a.bench = nil
		o := ui.NewObj().Nums("intervals", b.intervals).Nums("render", b.render).
			Nums("raster", b.raster).Nums("copy", b.copyPut).Nums("overlay", b.overlay).
			Int("clusters_drawn", int64(a.stats.Subs))
		b.resolve.Invoke(o.String())
		return
	}
	w, h := float64(a.canvas.W), float64(a.canvas.H)
	switch k := b.i % 240; {
	case k < 80:
		a.view.ZoomAt(w*0.4, h*0.45, 1.05)
	case k < 160:
		a.view.Pan(-9, -5)
	default:
		a.view.ZoomAt(w*0.55, h*0.5, 1/1.05)
	}
	a.viewStart = 0
	a.lastMove = ts
	a.dirty = true
	b.i++
}

func (a *app) exposeState() {
	g := js.Global()
	g.Set("dcState", a.dom.fn("dcState", func(js.Value, []js.Value) any { return a.stateJSON() }))
	// dcBench(n) returns a Promise of a JSON string with n frame intervals.
	g.Set("dcBench", a.dom.fn("dcBench", func(_ js.Value, args []js.Value) any {
		n := 300
		if len(args) > 0 && args[0].Type() == js.TypeNumber {
			n = args[0].Int()
		}
		var exec js.Func
		exec = js.FuncOf(func(_ js.Value, pa []js.Value) any {
			exec.Release()
			a.view = ui.Fit(a.bounds, float64(a.canvas.W), float64(a.canvas.H), 0)
			a.bench = &benchRun{n: n, resolve: pa[0]}
			return nil
		})
		return g.Get("Promise").New(exec)
	}))
	// dcFullFrames(n) draws n frames of the whole map at once and returns
	// the mean time per frame in ms, read back so that the canvas has
	// really been written (the benchmark's like-for-like measurement).
	g.Set("dcFullFrames", a.dom.fn("dcFullFrames", func(_ js.Value, args []js.Value) any {
		n := 10
		if len(args) > 0 {
			n = args[0].Int()
		}
		a.view = ui.Fit(a.bounds, float64(a.canvas.W), float64(a.canvas.H), 0)
		a.viewStart, a.animStart = 0, 0
		t0 := a.dom.now()
		for i := 0; i < n; i++ {
			a.render()
			a.ctx.Call("getImageData", 0, 0, 1, 1)
		}
		return (a.dom.now() - t0) / float64(n)
	}))
	// dcCells returns the screen rectangles and colours of the sub-cells
	// at the current view as a Float32Array of x, y, w, h, r, g, b: what a
	// page drawing one fillRect per cell (the benchmark's peer) would draw.
	g.Set("dcCells", a.dom.fn("dcCells", func(js.Value, []js.Value) any {
		if a.tree == nil {
			return js.Null()
		}
		var out []float32
		for _, n := range a.tree.Nodes {
			if n.Level != ui.LevelSub {
				continue
			}
			x0, y0, x1, y1 := a.view.ToScreen(n.Rect)
			out = append(out, float32(x0), float32(y0), float32(x1-x0), float32(y1-y0),
				float32(n.Color.R), float32(n.Color.G), float32(n.Color.B))
		}
		arr := js.Global().Get("Float32Array").New(len(out))
		b := make([]byte, 4*len(out))
		for i, f := range out {
			u := math.Float32bits(f)
			b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
		}
		js.CopyBytesToJS(js.Global().Get("Uint8Array").New(arr.Get("buffer")), b)
		return arr
	}))
	// dcZoomToSub(z) zooms to a sub-cluster, as clicking a search result does.
	g.Set("dcZoomToSub", a.dom.fn("dcZoomToSub", func(_ js.Value, args []js.Value) any {
		if a.tree == nil || len(args) == 0 {
			return false
		}
		z := args[0].Int()
		if z < 0 || z >= len(a.tree.SubNode) {
			return false
		}
		a.zoomTo(a.tree.Nodes[a.tree.SubNode[z]].Rect)
		return true
	}))
}

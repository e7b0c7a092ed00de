package index

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/deepercluster/deepercluster"
)

// Limits on queries.
const (
	// MaxQueryBytes is the most bytes a query may hold, all fields together.
	MaxQueryBytes = 1024
	// MaxLimit is the most clusters per level a search returns.
	MaxLimit = 1000
	// DefaultLimit is the number of clusters per level when Limit is 0.
	DefaultLimit = 10
	// MaxSamples is the most sample images per cluster.
	MaxSamples = 20
	// DefaultSamples is the number of samples per cluster when Samples is 0.
	DefaultSamples = 3
	// MaxSuggest is the most tags Suggest returns.
	MaxSuggest = 100
)

// compile checks q and turns it into a bleve query. Every error is
// deepercluster.ErrBadQuery with a *deepercluster.FieldError.
func (ix *Index) compile(q deepercluster.Query) (query.Query, error) {
	tagBytes := 0
	for _, t := range q.Tags {
		tagBytes += len(t)
	}
	total := tagBytes + len(q.Prefix) + len(q.Text)
	switch {
	case len(q.Text) > MaxQueryBytes:
		return nil, badQuery("text", "%d bytes, at most %d", len(q.Text), MaxQueryBytes)
	case len(q.Prefix) > MaxQueryBytes:
		return nil, badQuery("prefix", "%d bytes, at most %d", len(q.Prefix), MaxQueryBytes)
	case tagBytes > MaxQueryBytes:
		return nil, badQuery("tags", "%d bytes, at most %d", tagBytes, MaxQueryBytes)
	case total > MaxQueryBytes:
		return nil, badQuery("query", "%d bytes in tags, prefix and text, at most %d", total, MaxQueryBytes)
	}
	for f, s := range map[string]string{"tags": strings.Join(q.Tags, ""), "prefix": q.Prefix, "text": q.Text} {
		if !utf8.ValidString(s) {
			return nil, badQuery(f, "not valid UTF-8")
		}
	}
	if q.Limit < 0 || q.Limit > MaxLimit {
		return nil, badQuery("limit", "must be in [0, %d], got %d", MaxLimit, q.Limit)
	}
	if q.Samples < 0 || q.Samples > MaxSamples {
		return nil, badQuery("samples", "must be in [0, %d], got %d", MaxSamples, q.Samples)
	}
	op := deepercluster.SearchOp(strings.ToLower(string(q.Op)))
	if op == "" {
		op = deepercluster.OpAnd
	}
	if op != deepercluster.OpAnd && op != deepercluster.OpOr {
		return nil, badQuery("op", "unknown operator %q: want \"and\" or \"or\"", q.Op)
	}

	var parts []query.Query
	if len(q.Tags) > 0 {
		terms := make([]query.Query, 0, len(q.Tags))
		for k, t := range q.Tags {
			nt := ix.an.normTag(t)
			if nt == "" {
				return nil, badQuery("tags", "tag %d is blank", k)
			}
			tq := query.NewTermQuery(nt)
			tq.SetField(fieldTag)
			terms = append(terms, tq)
		}
		if len(terms) == 1 {
			parts = append(parts, terms[0])
		} else if op == deepercluster.OpAnd {
			parts = append(parts, query.NewConjunctionQuery(terms))
		} else {
			parts = append(parts, query.NewDisjunctionQuery(terms))
		}
	}
	if p := strings.TrimLeft(q.Prefix, " \t\r\n"); p != "" {
		ts := ix.an.tag.Analyze([]byte(p))
		if len(ts) != 1 {
			return nil, badQuery("prefix", "cannot be analysed")
		}
		pq := query.NewPrefixQuery(string(ts[0].Term))
		pq.SetField(fieldTag)
		parts = append(parts, pq)
	}
	if strings.TrimSpace(q.Text) != "" {
		parsed, err := query.NewQueryStringQuery(q.Text).Parse()
		if err != nil {
			return nil, badQuery("text", "syntax error: %s", firstLine(err.Error()))
		}
		tq, err := ix.rewrite(parsed)
		if err != nil {
			return nil, badQuery("text", "%s", err.Error())
		}
		parts = append(parts, tq)
	}
	switch len(parts) {
	case 0:
		return nil, badQuery("query", "empty: give tags, a prefix or text")
	case 1:
		return parts[0], nil
	}
	return query.NewConjunctionQuery(parts), nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// textFields are searched by words without a field name: title,
// description and the extra columns of a metadata table.
var textFields = []string{fieldTitle, fieldDescription, fieldExtra}

func fieldNames() string {
	names := make([]string, 0, len(queryFields))
	for f := range queryFields {
		names = append(names, f)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// checkField resolves a query-string field: "" means the text fields.
func checkField(f string) ([]string, error) {
	if f == "" {
		return textFields, nil
	}
	if _, ok := queryFields[f]; !ok {
		return nil, fmt.Errorf("unknown field %q: want one of %s", f, fieldNames())
	}
	return []string{f}, nil
}

// anyOf is one query per field, OR-ed.
func anyOf(qs []query.Query) query.Query {
	if len(qs) == 1 {
		return qs[0]
	}
	return query.NewDisjunctionQuery(qs)
}

// rewrite validates the fields of a parsed query string and points
// field-less clauses at the title and description; it refuses query types
// this index cannot answer correctly.
func (ix *Index) rewrite(q query.Query) (query.Query, error) {
	var err error
	rw := func(sub query.Query) query.Query {
		if sub == nil || err != nil {
			return sub
		}
		var r query.Query
		r, err = ix.rewrite(sub)
		return r
	}
	switch t := q.(type) {
	case *query.BooleanQuery:
		c := *t
		c.Must, c.Should, c.MustNot, c.Filter = rw(t.Must), rw(t.Should), rw(t.MustNot), rw(t.Filter)
		return &c, err
	case *query.ConjunctionQuery:
		c := *t
		c.Conjuncts = make([]query.Query, len(t.Conjuncts))
		for i, s := range t.Conjuncts {
			c.Conjuncts[i] = rw(s)
		}
		return &c, err
	case *query.DisjunctionQuery:
		c := *t
		c.Disjuncts = make([]query.Query, len(t.Disjuncts))
		for i, s := range t.Disjuncts {
			c.Disjuncts[i] = rw(s)
		}
		return &c, err
	case *query.MatchAllQuery, *query.MatchNoneQuery:
		return q, nil
	case *query.MatchQuery:
		fs, err := checkField(t.FieldVal)
		if err != nil {
			return nil, err
		}
		var out []query.Query
		for _, f := range fs {
			c := *t
			c.FieldVal, c.Analyzer = f, queryFields[f]
			out = append(out, &c)
		}
		return anyOf(out), nil
	case *query.MatchPhraseQuery:
		fs, err := checkField(t.FieldVal)
		if err != nil {
			return nil, err
		}
		var out []query.Query
		for _, f := range fs {
			switch queryFields[f] {
			case analyzerText: // all words, any order (no term vectors)
				m := query.NewMatchQuery(t.MatchPhrase)
				m.SetField(f)
				m.Analyzer = analyzerText
				m.SetOperator(query.MatchQueryOperatorAnd)
				out = append(out, m)
			case analyzerTag:
				nt := ix.an.normTag(t.MatchPhrase)
				tq := query.NewTermQuery(nt)
				tq.SetField(f)
				out = append(out, tq)
			case keyword.Name:
				tq := query.NewTermQuery(t.MatchPhrase)
				tq.SetField(f)
				out = append(out, tq)
			default:
				return nil, fmt.Errorf("field %s cannot hold a phrase", f)
			}
		}
		return anyOf(out), nil
	case *query.WildcardQuery, *query.RegexpQuery, *query.FuzzyQuery, *query.TermQuery, *query.PrefixQuery:
		fs, err := checkField(t.(query.FieldableQuery).Field())
		if err != nil {
			return nil, err
		}
		var out []query.Query
		for _, f := range fs {
			switch t := t.(type) {
			case *query.WildcardQuery:
				out = append(out, onField(t, f))
			case *query.RegexpQuery:
				out = append(out, onField(t, f))
			case *query.FuzzyQuery:
				out = append(out, onField(t, f))
			case *query.TermQuery:
				out = append(out, onField(t, f))
			case *query.PrefixQuery:
				out = append(out, onField(t, f))
			}
		}
		return anyOf(out), nil
	case *query.DateRangeQuery:
		if t.FieldVal != fieldTaken {
			return nil, fmt.Errorf("field %q holds no dates: only taken does", t.FieldVal)
		}
		// Days are indexed as "2006-01-02" terms: a term range, to the day.
		var lo, hi string
		if !t.Start.IsZero() {
			lo = t.Start.UTC().Format(dayLayout)
		}
		if !t.End.IsZero() {
			hi = t.End.UTC().Format(dayLayout)
		}
		r := query.NewTermRangeInclusiveQuery(lo, hi, t.InclusiveStart, t.InclusiveEnd)
		r.SetField(fieldTaken)
		return r, nil
	case *query.NumericRangeQuery:
		return nil, fmt.Errorf("field %q holds no numbers (for dates quote them: taken:>\"2010-01-01\")", t.FieldVal)
	}
	return nil, fmt.Errorf("unsupported query clause %T", q)
}

// onField copies a single-field query onto field f.
func onField[T any, P interface {
	*T
	query.FieldableQuery
}](q P, f string) query.Query {
	c := *q
	P(&c).SetField(f)
	return P(&c)
}

// view is one consistent reader of the live generation with the snapshot
// it holds.
type view struct {
	g    *generation
	r    bindex.IndexReader
	snap *snapshot
	pin  *pinnedReader // non-nil when r is an Update's pinned reader
}

func (v *view) close() {
	if v.pin != nil {
		v.pin.release()
	} else {
		_ = v.r.Close()
	}
	v.g.life.RUnlock()
}

// open pins the live generation and opens a reader on it: the Update's
// pinned reader while one lands, otherwise a fresh one.
func (ix *Index) open() (*view, error) {
	g, err := ix.acquire()
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*view, error) {
		g.life.RUnlock()
		return nil, err
	}
	adv, err := g.bi.Advanced()
	if err != nil {
		return fail(fmt.Errorf("index reader: %w", err))
	}
	g.pinMu.RLock()
	if p := g.pin; p != nil {
		p.refs.Add(1)
		g.pinMu.RUnlock()
		return &view{g: g, r: p.r, snap: p.snap, pin: p}, nil
	}
	r, err := adv.Reader()
	g.pinMu.RUnlock()
	if err != nil {
		return fail(fmt.Errorf("index reader: %w", err))
	}
	sb, err := r.GetInternal(keySeq)
	if err != nil {
		_ = r.Close()
		return fail(fmt.Errorf("index reader: %w", err))
	}
	seq, _ := strconv.ParseUint(string(sb), 10, 64)
	snap := g.snapshot(seq)
	if snap == nil {
		_ = r.Close()
		return fail(fmt.Errorf("%w: index holds write %q that is not in memory", deepercluster.ErrNotReady, sb))
	}
	return &view{g: g, r: r, snap: snap}, nil
}

// counter accumulates matches per cluster, with the internal ids of the
// first few as samples (copied into one arena: bleve reuses its buffers).
type counter struct {
	count   []int
	samples [][]bindex.IndexInternalID
	max     int
	arena   []byte
}

func newCounter(k, samples int) *counter {
	return &counter{count: make([]int, k), samples: make([][]bindex.IndexInternalID, k), max: samples}
}

func (c *counter) add(cl int32, id bindex.IndexInternalID) {
	c.count[cl]++
	if len(c.samples[cl]) < c.max {
		if len(c.arena)+len(id) > cap(c.arena) {
			c.arena = make([]byte, 0, max(4096, 64*len(id)))
		}
		start := len(c.arena)
		c.arena = append(c.arena, id...)
		c.samples[cl] = append(c.samples[cl], c.arena[start:len(c.arena):len(c.arena)])
	}
}

// Search runs q and ranks the clusters of both levels by how
// characteristic the matching images are for them. Which images match is
// bleve's answer (its searchers, unscored, over one index snapshot); the
// sub-cluster of each match is read from bleve's doc values of the same
// snapshot; the parent super-cluster and the cluster sizes come from the
// Assignment version that snapshot holds.
func (ix *Index) Search(ctx context.Context, q deepercluster.Query) (*deepercluster.SearchResult, error) {
	bq, err := ix.compile(q)
	if err != nil {
		return nil, err
	}
	limit, nsamp := cmp.Or(q.Limit, DefaultLimit), cmp.Or(q.Samples, DefaultSamples)
	v, err := ix.open()
	if err != nil {
		return nil, err
	}
	defer v.close()
	a := v.snap.a
	subs, supers := newCounter(len(a.SubParent), nsamp), newCounter(a.M, nsamp)
	matches, err := ix.collect(ctx, v, bq, func(sub int32, id bindex.IndexInternalID) {
		subs.add(sub, id)
		supers.add(a.SubParent[sub], id)
	})
	if err != nil {
		return nil, err
	}
	n := len(a.Sub)
	res := &deepercluster.SearchResult{Version: a.Version, Matches: matches, Images: n}
	if n > 0 {
		res.BaseRate = float64(matches) / float64(n)
	}
	st := v.snap.stats
	res.Supers, err = ix.rank(v, deepercluster.LevelSuper, supers, st.superSize, func(c int) int32 { return int32(c) }, res.BaseRate, limit)
	if err != nil {
		return nil, err
	}
	res.Subs, err = ix.rank(v, deepercluster.LevelSub, subs, st.subSize, func(c int) int32 { return a.SubParent[c] }, res.BaseRate, limit)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// collect runs bq unscored over the view's reader and calls fn with the
// sub-cluster (from doc values) of every matching image document.
func (ix *Index) collect(ctx context.Context, v *view, bq query.Query, fn func(sub int32, id bindex.IndexInternalID)) (int, error) {
	s, err := bq.Searcher(ctx, v.r, ix.m, search.SearcherOptions{Score: "none"})
	if err != nil {
		return 0, badQuery("text", "%s", err.Error())
	}
	defer s.Close()
	dvr, err := v.r.DocValueReader([]string{fieldSub})
	if err != nil {
		return 0, fmt.Errorf("doc values: %w", err)
	}
	sctx := &search.SearchContext{
		DocumentMatchPool: search.NewDocumentMatchPool(s.DocumentMatchPoolSize(), 0),
		IndexReader:       v.r,
	}
	nsub := int32(len(v.snap.a.SubParent))
	matches := 0
	var sub int32
	visit := func(_ string, term []byte) {
		x := int32(0)
		for _, b := range term {
			if b < '0' || b > '9' {
				x = -1
				break
			}
			x = x*10 + int32(b-'0')
		}
		sub = x
	}
	for k := 0; ; k++ {
		if k&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		dm, err := s.Next(sctx)
		if err != nil {
			return 0, fmt.Errorf("search: %w", err)
		}
		if dm == nil {
			break
		}
		sub = -1
		if err := dvr.VisitDocValues(dm.IndexInternalID, visit); err != nil {
			return 0, fmt.Errorf("doc values: %w", err)
		}
		if sub >= 0 && sub < nsub { // cluster documents have no sub field
			matches++
			fn(sub, dm.IndexInternalID)
		}
		sctx.DocumentMatchPool.Put(dm)
	}
	return matches, nil
}

// rank scores the clusters with matches and resolves the samples of the
// ones returned.
func (ix *Index) rank(v *view, l deepercluster.Level, c *counter, size []int, parent func(int) int32, base float64, limit int) ([]deepercluster.ClusterHit, error) {
	type scored struct {
		id    int32
		count int
		score float64
	}
	var all []scored
	for id, n := range c.count {
		if n == 0 || size[id] == 0 {
			continue
		}
		s := scored{id: int32(id), count: n}
		if lift := float64(n) / float64(size[id]) / base; lift > 0 {
			s.score = float64(n) * math.Log(lift)
		}
		all = append(all, s)
	}
	slices.SortFunc(all, func(x, y scored) int {
		return cmp.Or(cmp.Compare(y.score, x.score), cmp.Compare(y.count, x.count), cmp.Compare(x.id, y.id))
	})
	hits := make([]deepercluster.ClusterHit, min(limit, len(all)))
	for i := range hits {
		s := all[i]
		h := deepercluster.ClusterHit{Level: l, ID: s.id, Super: parent(int(s.id)), Size: size[s.id], Count: s.count, Score: s.score}
		h.Share = float64(s.count) / float64(h.Size)
		h.Lift = h.Share / base
		hits[i] = h
	}
	for i := range hits {
		ids := c.samples[hits[i].ID]
		hits[i].Samples = make([]deepercluster.Sample, 0, len(ids))
		for _, iid := range ids {
			ext, err := v.r.ExternalID(iid)
			if err != nil {
				return nil, fmt.Errorf("sample of %s cluster %d: %w", l, hits[i].ID, err)
			}
			img, err := strconv.Atoi(ext)
			if err != nil || img < 0 || img >= ix.ds.Len() {
				return nil, fmt.Errorf("%w: image document id %q", ErrCorrupt, ext)
			}
			hits[i].Samples = append(hits[i].Samples, deepercluster.Sample{Index: img, PhotoID: ix.ds.Meta(img).PhotoID})
		}
	}
	return hits, nil
}

// Suggest completes a tag prefix with the most frequent indexed tags
// (count = images carrying the tag), for autocomplete. Candidates come
// from bleve's term dictionary; their counts are then made exact with
// bleve's postings (the dictionary's own counts still include documents
// replaced by updates until segments merge).
func (ix *Index) Suggest(ctx context.Context, prefix string, n int) ([]deepercluster.TagCount, error) {
	if len(prefix) > MaxQueryBytes {
		return nil, badQuery("prefix", "%d bytes, at most %d", len(prefix), MaxQueryBytes)
	}
	if !utf8.ValidString(prefix) {
		return nil, badQuery("prefix", "not valid UTF-8")
	}
	p := strings.TrimLeft(prefix, " \t\r\n")
	if p == "" {
		return nil, badQuery("prefix", "empty")
	}
	if n < 0 || n > MaxSuggest {
		return nil, badQuery("n", "must be in [0, %d], got %d", MaxSuggest, n)
	}
	n = cmp.Or(n, DefaultLimit)
	ts := ix.an.tag.Analyze([]byte(p))
	if len(ts) != 1 {
		return nil, badQuery("prefix", "cannot be analysed")
	}
	v, err := ix.open()
	if err != nil {
		return nil, err
	}
	defer v.close()
	d, err := v.r.FieldDictPrefix(fieldTag, ts[0].Term)
	if err != nil {
		return nil, fmt.Errorf("tag dictionary: %w", err)
	}
	var cands []deepercluster.TagCount // Count: upper bound
	for {
		e, err := d.Next()
		if err != nil {
			_ = d.Close()
			return nil, fmt.Errorf("tag dictionary: %w", err)
		}
		if e == nil {
			break
		}
		cands = append(cands, deepercluster.TagCount{Tag: e.Term, Count: int(e.Count)})
	}
	_ = d.Close()
	slices.SortFunc(cands, func(x, y deepercluster.TagCount) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Tag, y.Tag))
	})
	var out []deepercluster.TagCount
	for _, c := range cands {
		if len(out) >= n && out[n-1].Count >= c.Count {
			break // no later candidate can beat the n-th exact count
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		tfr, err := v.r.TermFieldReader(ctx, []byte(c.Tag), fieldTag, false, false, false)
		if err != nil {
			return nil, fmt.Errorf("tag %q: %w", c.Tag, err)
		}
		exact := int(tfr.Count())
		_ = tfr.Close()
		if exact == 0 {
			continue
		}
		out = append(out, deepercluster.TagCount{Tag: c.Tag, Count: exact})
		slices.SortFunc(out, func(x, y deepercluster.TagCount) int {
			return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Tag, y.Tag))
		})
	}
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// TopTags returns the n most frequent tags of a cluster, read back from its
// cluster document in bleve (at most Options.TopTags are stored). sub < 0
// names super-cluster super; otherwise sub-cluster sub, which must belong
// to super.
func (ix *Index) TopTags(super, sub int32, n int) ([]deepercluster.TagCount, error) {
	if n < 0 {
		return nil, badQuery("n", "must not be negative, got %d", n)
	}
	v, err := ix.open()
	if err != nil {
		return nil, err
	}
	defer v.close()
	a := v.snap.a
	if super < 0 || int(super) >= a.M {
		return nil, fmt.Errorf("%w: super-cluster %d outside [0,%d)", ErrUnknownCluster, super, a.M)
	}
	id := clusterID(deepercluster.LevelSuper, int(super))
	if sub >= 0 {
		if int(sub) >= len(a.SubParent) || a.SubParent[sub] != super {
			return nil, fmt.Errorf("%w: no sub-cluster %d in super-cluster %d", ErrUnknownCluster, sub, super)
		}
		id = clusterID(deepercluster.LevelSub, int(sub))
	}
	doc, err := v.r.Document(id)
	if err != nil {
		return nil, fmt.Errorf("cluster document %s: %w", id, err)
	}
	if doc == nil {
		return nil, fmt.Errorf("%w: cluster document %s missing", ErrCorrupt, id)
	}
	var raw []byte
	found := false
	doc.VisitFields(func(f bindex.Field) {
		if f.Name() == fieldCTop {
			raw, found = f.Value(), true
		}
	})
	if !found {
		return nil, fmt.Errorf("%w: cluster document %s has no top tags", ErrCorrupt, id)
	}
	top, err := decodeTop(raw)
	if err != nil {
		return nil, err
	}
	if n > 0 && len(top) > n {
		top = top[:n]
	}
	return top, nil
}

package index

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/single"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/mapping"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/deepercluster/deepercluster"
)

// MappingVersion names the layout of the documents below. Bump it with any
// change to fields, analysers or encodings: Open then refuses an older
// index (Recovered wraps ErrOldMapping) instead of answering from it.
const MappingVersion = 3

// Internal keys, written in the same batch as the documents they describe.
var (
	keyMapping    = []byte("dc:mapping")    // MappingVersion, decimal
	keyDataset    = []byte("dc:dataset")    // dataset fingerprint
	keyVersion    = []byte("dc:version")    // indexed Assignment version, decimal
	keySeq        = []byte("dc:seq")        // snapshot.seq, decimal
	keyAssignment = []byte("dc:assignment") // indexed Assignment, wire.MarshalAssignment
	// keyPending is set while an Update lands its batches (the sequence it
	// goes to): an index opened with it set may hold a mix of two
	// versions, so Open rebuilds it.
	keyPending = []byte("dc:pending")
)

// Analyser names registered in the mapping.
const (
	// analyzerTag keeps a whole tag as one token ("new york" stays one
	// tag) and lower-cases it rune by rune (Unicode: "Café" -> "café").
	analyzerTag = "dc_tag"
	// analyzerText splits on Unicode word boundaries (so CJK text works)
	// and lower-cases, without stemming: tags are not English.
	analyzerText = "dc_text"
)

// Field names of image documents.
const (
	fieldPhoto       = "photo"       // photo id, exact
	fieldTag         = "tag"         // each tag, exact (analyzerTag)
	fieldTags        = "tags"        // all tags as words (analyzerText)
	fieldTitle       = "title"       // words
	fieldDescription = "description" // words
	fieldExtra       = "extra"       // the values of a metadata table's other columns, words
	fieldUser        = "user"        // exact
	fieldTaken       = "taken"       // day taken, "2006-01-02" (UTC), exact
	fieldSuper       = "super"       // super-cluster id, exact, doc values
	fieldSub         = "sub"         // sub-cluster id, exact, doc values
)

// Field names of cluster documents (prefixed so that no image query can
// match a cluster document by accident).
const (
	fieldCLevel = "c_level" // "super" or "sub"
	fieldCID    = "c_id"    // cluster id within its level
	fieldCSuper = "c_super" // parent super-cluster
	fieldCSize  = "c_size"  // number of images
	fieldCTag   = "c_tag"   // top tags, exact, searchable
	fieldCTop   = "c_top"   // top tags with counts, stored only (TopTags)
)

// queryFields are the fields a query-string text may name, with the
// analyser their terms need.
var queryFields = map[string]string{
	fieldTitle:       analyzerText,
	fieldDescription: analyzerText,
	fieldExtra:       analyzerText,
	fieldTags:        analyzerText,
	fieldTag:         analyzerTag,
	fieldUser:        keyword.Name,
	fieldPhoto:       keyword.Name,
	fieldSuper:       keyword.Name,
	fieldSub:         keyword.Name,
	fieldTaken:       keyword.Name,
}

// dayLayout is how the day an image was taken is indexed: one exact term
// per image whose byte order is date order, so date ranges are term ranges.
// (A bleve datetime field would add 16 prefix-coded terms per image, most
// of them unique, for precision below a day that nobody searches by.)
const dayLayout = "2006-01-02"

// Indexing options: index only, no stored values, no term vectors; the
// cluster ids also get doc values because Search reads them per hit.
const (
	optIndex   = bindex.IndexField
	optExact   = bindex.IndexField | bindex.SkipFreqNorm
	optCluster = bindex.IndexField | bindex.SkipFreqNorm | bindex.DocValues | bindex.SkipDVCompression | bindex.SkipDVChunking
	optStored  = bindex.StoreField
)

// newMapping is the explicit mapping: two document types, no catch-all
// field, nothing dynamic. Documents are built directly (imageDoc,
// clusterDoc), so bleve uses the mapping for query analysis and for
// recording what the index holds.
func newMapping() (*mapping.IndexMappingImpl, error) {
	m := mapping.NewIndexMapping()
	if err := m.AddCustomAnalyzer(analyzerTag, map[string]any{
		"type":          custom.Name,
		"tokenizer":     single.Name,
		"token_filters": []string{lowercase.Name},
	}); err != nil {
		return nil, fmt.Errorf("tag analyser: %w", err)
	}
	if err := m.AddCustomAnalyzer(analyzerText, map[string]any{
		"type":          custom.Name,
		"tokenizer":     unicode.Name,
		"token_filters": []string{lowercase.Name},
	}); err != nil {
		return nil, fmt.Errorf("text analyser: %w", err)
	}
	m.DefaultAnalyzer = analyzerText
	m.IndexDynamic = false
	m.StoreDynamic = false
	m.DocValuesDynamic = false
	m.DefaultMapping = mapping.NewDocumentDisabledMapping()
	m.TypeField = "_type"

	field := func(typ, analyzer string, docValues, store bool) *mapping.FieldMapping {
		return &mapping.FieldMapping{
			Type: typ, Analyzer: analyzer, Index: true, Store: store,
			DocValues: docValues, SkipFreqNorm: analyzer == analyzerTag || analyzer == keyword.Name,
		}
	}
	img := mapping.NewDocumentStaticMapping()
	img.AddFieldMappingsAt(fieldPhoto, field("text", keyword.Name, false, false))
	img.AddFieldMappingsAt(fieldTag, field("text", analyzerTag, false, false))
	img.AddFieldMappingsAt(fieldTags, field("text", analyzerText, false, false))
	img.AddFieldMappingsAt(fieldTitle, field("text", analyzerText, false, false))
	img.AddFieldMappingsAt(fieldExtra, field("text", analyzerText, false, false))
	img.AddFieldMappingsAt(fieldDescription, field("text", analyzerText, false, false))
	img.AddFieldMappingsAt(fieldUser, field("text", keyword.Name, false, false))
	img.AddFieldMappingsAt(fieldTaken, field("text", keyword.Name, false, false))
	img.AddFieldMappingsAt(fieldSuper, field("text", keyword.Name, true, false))
	img.AddFieldMappingsAt(fieldSub, field("text", keyword.Name, true, false))
	m.AddDocumentMapping("image", img)

	cl := mapping.NewDocumentStaticMapping()
	cl.AddFieldMappingsAt(fieldCLevel, field("text", keyword.Name, false, false))
	cl.AddFieldMappingsAt(fieldCID, field("text", keyword.Name, false, false))
	cl.AddFieldMappingsAt(fieldCSuper, field("text", keyword.Name, false, false))
	cl.AddFieldMappingsAt(fieldCSize, field("number", "", false, false))
	cl.AddFieldMappingsAt(fieldCTag, field("text", analyzerTag, false, false))
	top := &mapping.FieldMapping{Type: "text", Analyzer: keyword.Name, Store: true}
	cl.AddFieldMappingsAt(fieldCTop, top)
	m.AddDocumentMapping("cluster", cl)

	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("index mapping: %w", err)
	}
	return m, nil
}

// analyzers are the analysers documents are built with, looked up once.
type analyzers struct {
	tag, text, kw analysis.Analyzer
}

func newAnalyzers(m *mapping.IndexMappingImpl) (analyzers, error) {
	a := analyzers{
		tag:  m.AnalyzerNamed(analyzerTag),
		text: m.AnalyzerNamed(analyzerText),
		kw:   m.AnalyzerNamed(keyword.Name),
	}
	if a.tag == nil || a.text == nil || a.kw == nil {
		return a, fmt.Errorf("index mapping: analysers missing")
	}
	return a, nil
}

// normTag is the exact form under which a tag is indexed and searched:
// surrounding space trimmed, then the tag analyser (one token,
// lower-cased). It returns "" for a blank tag.
func (a analyzers) normTag(t string) string {
	t = strings.TrimSpace(t)
	if t == "" {
		return ""
	}
	ts := a.tag.Analyze([]byte(t))
	if len(ts) == 0 {
		return ""
	}
	return string(ts[0].Term)
}

// imageID is the document id of image i.
func imageID(i int) string { return strconv.Itoa(i) }

// clusterID is the document id of a cluster; it cannot collide with an
// image id (those are plain numbers).
func clusterID(l deepercluster.Level, id int) string { return string(l) + ":" + strconv.Itoa(id) }

// imageDoc builds the document of image i in its clusters.
func (a analyzers) imageDoc(i int, meta deepercluster.Meta, super, sub int32) *document.Document {
	d := document.NewDocument(imageID(i))
	if meta.PhotoID != "" {
		d.AddField(document.NewTextFieldCustom(fieldPhoto, nil, []byte(meta.PhotoID), optExact, a.kw))
	}
	var words strings.Builder
	for _, t := range meta.Tags {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		d.AddField(document.NewTextFieldCustom(fieldTag, nil, []byte(t), optExact, a.tag))
		if words.Len() > 0 {
			words.WriteByte(' ')
		}
		words.WriteString(t)
	}
	if words.Len() > 0 {
		d.AddField(document.NewTextFieldCustom(fieldTags, nil, []byte(words.String()), optIndex, a.text))
	}
	if meta.Title != "" {
		d.AddField(document.NewTextFieldCustom(fieldTitle, nil, []byte(meta.Title), optIndex, a.text))
	}
	if meta.Description != "" {
		d.AddField(document.NewTextFieldCustom(fieldDescription, nil, []byte(meta.Description), optIndex, a.text))
	}
	if len(meta.Extra) > 0 {
		keys := make([]string, 0, len(meta.Extra))
		for k := range meta.Extra {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b strings.Builder
		for _, k := range keys {
			b.WriteString(meta.Extra[k])
			b.WriteByte('\n')
		}
		d.AddField(document.NewTextFieldCustom(fieldExtra, nil, []byte(b.String()), optIndex, a.text))
	}
	if meta.User != "" {
		d.AddField(document.NewTextFieldCustom(fieldUser, nil, []byte(meta.User), optExact, a.kw))
	}
	if t := meta.Taken.UTC(); !meta.Taken.IsZero() && t.Year() >= 1800 && t.Year() <= 2200 {
		// junk dates (YFCC's year 4501) are left out
		d.AddField(document.NewTextFieldCustom(fieldTaken, nil, []byte(t.Format(dayLayout)), optExact, a.kw))
	}
	d.AddField(document.NewTextFieldCustom(fieldSuper, nil, []byte(strconv.Itoa(int(super))), optCluster, a.kw))
	d.AddField(document.NewTextFieldCustom(fieldSub, nil, []byte(strconv.Itoa(int(sub))), optCluster, a.kw))
	return d
}

// clusterDoc builds the document of one cluster with its top tags.
func (a analyzers) clusterDoc(l deepercluster.Level, id int, super int32, size int, top []deepercluster.TagCount) *document.Document {
	d := document.NewDocument(clusterID(l, id))
	d.AddField(document.NewTextFieldCustom(fieldCLevel, nil, []byte(l), optExact, a.kw))
	d.AddField(document.NewTextFieldCustom(fieldCID, nil, []byte(strconv.Itoa(id)), optExact, a.kw))
	d.AddField(document.NewTextFieldCustom(fieldCSuper, nil, []byte(strconv.Itoa(int(super))), optExact, a.kw))
	d.AddField(document.NewNumericFieldWithIndexingOptions(fieldCSize, nil, float64(size), optIndex))
	for _, t := range top {
		d.AddField(document.NewTextFieldCustom(fieldCTag, nil, []byte(t.Tag), optExact, a.tag))
	}
	d.AddField(document.NewTextFieldCustom(fieldCTop, nil, encodeTop(top), optStored, a.kw))
	return d
}

// encodeTop writes top tags as "count\ttag\n" lines (tags hold no control
// characters after trimming; a tag with a newline is cut there).
func encodeTop(top []deepercluster.TagCount) []byte {
	var b strings.Builder
	for _, t := range top {
		tag := t.Tag
		if k := strings.IndexAny(tag, "\n\t"); k >= 0 {
			tag = tag[:k]
		}
		b.WriteString(strconv.Itoa(t.Count))
		b.WriteByte('\t')
		b.WriteString(tag)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// decodeTop reads what encodeTop wrote.
func decodeTop(b []byte) ([]deepercluster.TagCount, error) {
	var out []deepercluster.TagCount
	for line := range strings.SplitSeq(string(b), "\n") {
		if line == "" {
			continue
		}
		c, tag, ok := strings.Cut(line, "\t")
		n, err := strconv.Atoi(c)
		if !ok || err != nil {
			return nil, fmt.Errorf("%w: cluster document top tags %q", ErrCorrupt, line)
		}
		out = append(out, deepercluster.TagCount{Tag: tag, Count: n})
	}
	return out, nil
}

// fingerprint identifies a dataset cheaply: its size, resolution and the
// photo ids of up to 1024 evenly spread images.
func fingerprint(ds deepercluster.Dataset) string {
	n := ds.Len()
	h := fnv.New64a()
	step := max(1, n/1024)
	for i := 0; i < n; i += step {
		h.Write([]byte(ds.Meta(i).PhotoID))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("n=%d res=%d ids=%016x", n, ds.Resolution(), h.Sum64())
}

package index

import (
	"cmp"
	"context"
	"math"
	"slices"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/cluster"
)

// Quality tells how well one Assignment agrees with the images' metadata.
// It is computed in memory from the Dataset and the Assignment, with the
// index's tag normalisation, once per version.
type Quality struct {
	Version uint32 `json:"version"`
	Images  int    `json:"images"`
	// Tagged images have at least one tag; Untagged ones are left out of
	// the tag NMI and purity.
	Tagged   int `json:"tagged"`
	Untagged int `json:"untagged"`
	// TagNMI compares the clusters with each tagged image's most specific
	// tag (its tag with the lowest global frequency; ties: alphabetical),
	// arithmetic-mean normalisation as scikit-learn.
	TagNMISuper float64 `json:"tag_nmi_super"`
	TagNMISub   float64 `json:"tag_nmi_sub"`
	// TagPurity is the purity of the clusters against the same most
	// specific tags: the share of tagged images whose most specific tag is
	// their cluster's most common one.
	TagPuritySuper float64 `json:"tag_purity_super"`
	TagPuritySub   float64 `json:"tag_purity_sub"`
	// Labels compares with the dataset's hidden labels; nil without them.
	Labels *LabelQuality `json:"labels,omitempty"`
	// Supers and Subs describe every cluster, by id.
	Supers []ClusterQuality `json:"supers"`
	Subs   []ClusterQuality `json:"subs"`
}

// LabelQuality compares both levels with ground-truth labels.
type LabelQuality struct {
	NMISuper    float64 `json:"nmi_super"`
	NMISub      float64 `json:"nmi_sub"`
	ARISuper    float64 `json:"ari_super"`
	ARISub      float64 `json:"ari_sub"`
	PuritySuper float64 `json:"purity_super"`
	PuritySub   float64 `json:"purity_sub"`
}

// ClusterQuality is one cluster's tags.
type ClusterQuality struct {
	Level Level `json:"level"`
	ID    int32 `json:"id"`
	Super int32 `json:"super"`
	Size  int   `json:"size"`
	// TopTags are the most frequent tags with the share of the cluster's
	// images carrying each.
	TopTags []TagShare `json:"top_tags"`
	// Keywords are the tags with the highest c-TF-IDF weight (see
	// CTFIDF): frequent here, rare elsewhere.
	Keywords []Keyword `json:"keywords"`
}

// TagShare is a tag with its count and share in one cluster.
type TagShare struct {
	Tag   string  `json:"tag"`
	Count int     `json:"count"`
	Share float64 `json:"share"`
}

// Keyword is a tag with its c-TF-IDF weight in one cluster.
type Keyword struct {
	Tag    string  `json:"tag"`
	Weight float64 `json:"weight"`
}

// CTFIDF is BERTopic's class-based TF-IDF weight of a tag in a cluster as
// the issue states it: tf * log(1 + A/f), where tf is the number of the
// cluster's images carrying the tag, A the mean cluster size (images per
// non-empty cluster of that level) and f the number of images carrying the
// tag over all clusters. (BERTopic itself L1-normalises tf per class and
// measures A in words; neither changes the order within a cluster.)
func CTFIDF(tf int, meanSize float64, f int) float64 {
	if tf == 0 || f == 0 {
		return 0
	}
	return float64(tf) * math.Log(1+meanSize/float64(f))
}

// Quality returns the quality figures of the indexed Assignment, with n top
// tags and keywords per cluster (0: Options.TopTags). It is computed on
// first call per version and kept.
func (ix *Index) Quality(ctx context.Context, n int) (*Quality, error) {
	if n < 0 {
		return nil, badQuery("n", "must not be negative, got %d", n)
	}
	g, err := ix.acquire()
	if err != nil {
		return nil, err
	}
	snap := g.latest()
	g.life.RUnlock()
	if snap == nil {
		return nil, ErrNotReady
	}
	snap.qOnce.Do(func() { snap.quality = computeQuality(snap, ix.ds, ix.opt.TopTags) })
	q := *snap.quality
	if n > 0 && n < ix.opt.TopTags {
		cut := func(cs []ClusterQuality) []ClusterQuality {
			out := slices.Clone(cs)
			for i := range out {
				out[i].TopTags = out[i].TopTags[:min(n, len(out[i].TopTags))]
				out[i].Keywords = out[i].Keywords[:min(n, len(out[i].Keywords))]
			}
			return out
		}
		q.Supers, q.Subs = cut(q.Supers), cut(q.Subs)
	}
	return &q, ctx.Err()
}

// computeQuality works out every figure of Quality for one snapshot.
func computeQuality(s *snapshot, ds deepercluster.Dataset, top int) *Quality {
	a, tt, st := s.a, s.tt, s.stats
	n := len(a.Super)
	q := &Quality{Version: a.Version, Images: n}

	// Most specific tag of every tagged image.
	var supT, subT, tagT []int32
	for i := range n {
		ids := tt.imageTags(i)
		if len(ids) == 0 {
			q.Untagged++
			continue
		}
		best := ids[0]
		for _, id := range ids[1:] {
			if tt.freq[id] < tt.freq[best] || (tt.freq[id] == tt.freq[best] && tt.names[id] < tt.names[best]) {
				best = id
			}
		}
		supT, subT, tagT = append(supT, a.Super[i]), append(subT, a.Sub[i]), append(tagT, int32(best))
	}
	q.Tagged = len(tagT)
	if q.Tagged > 0 {
		q.TagNMISuper, q.TagNMISub = cluster.NMI(supT, tagT), cluster.NMI(subT, tagT)
		q.TagPuritySuper, q.TagPuritySub = cluster.Purity(supT, tagT), cluster.Purity(subT, tagT)
	}

	if _, ok := ds.Label(0); n > 0 && ok {
		labels := make([]int32, n)
		for i := range n {
			l, _ := ds.Label(i)
			labels[i] = int32(l)
		}
		q.Labels = &LabelQuality{
			NMISuper: cluster.NMI(a.Super, labels), NMISub: cluster.NMI(a.Sub, labels),
			ARISuper: cluster.ARI(a.Super, labels), ARISub: cluster.ARI(a.Sub, labels),
			PuritySuper: cluster.Purity(a.Super, labels), PuritySub: cluster.Purity(a.Sub, labels),
		}
	}

	q.Supers = describe(LevelSuper, tt, st.superTags, st.superSize, func(c int) int32 { return int32(c) }, top)
	q.Subs = describe(LevelSub, tt, st.subTags, st.subSize, func(c int) int32 { return a.SubParent[c] }, top)
	return q
}

func describe(l Level, tt *tagTable, tags [][]tagCount, size []int, parent func(int) int32, top int) []ClusterQuality {
	mean := meanSize(size)
	out := make([]ClusterQuality, len(size))
	for c := range size {
		cq := ClusterQuality{Level: l, ID: int32(c), Super: parent(c), Size: size[c]}
		for _, t := range tags[c][:min(top, len(tags[c]))] {
			cq.TopTags = append(cq.TopTags, TagShare{Tag: tt.names[t.id], Count: int(t.n), Share: float64(t.n) / float64(size[c])})
		}
		cq.Keywords = keywords(tt, tags[c], mean, top)
		out[c] = cq
	}
	return out
}

// meanSize is the mean size of the non-empty clusters, c-TF-IDF's scale.
func meanSize(size []int) float64 {
	nonEmpty, total := 0, 0
	for _, s := range size {
		if s > 0 {
			nonEmpty++
			total += s
		}
	}
	if nonEmpty == 0 {
		return 0
	}
	return float64(total) / float64(nonEmpty)
}

// keywords ranks a cluster's tags by c-TF-IDF and keeps the top n.
func keywords(tt *tagTable, tags []tagCount, mean float64, n int) []Keyword {
	kw := make([]Keyword, len(tags))
	for i, t := range tags {
		kw[i] = Keyword{Tag: tt.names[t.id], Weight: CTFIDF(int(t.n), mean, tt.freq[t.id])}
	}
	slices.SortFunc(kw, func(x, y Keyword) int { return cmp.Or(cmp.Compare(y.Weight, x.Weight), cmp.Compare(x.Tag, y.Tag)) })
	return kw[:min(max(n, 0), len(kw))]
}

// Summaries describes every sub-cluster of the indexed Assignment with its
// n most frequent tags (from memory, the same counts the cluster documents
// carry), for the server's snapshot. Nil before the first Build.
func (ix *Index) Summaries(n int) []deepercluster.ClusterSummary {
	g, err := ix.acquire()
	if err != nil {
		return nil
	}
	snap := g.latest()
	g.life.RUnlock()
	if snap == nil {
		return nil
	}
	a, st := snap.a, snap.stats
	mean := meanSize(st.subSize)
	out := make([]deepercluster.ClusterSummary, len(a.SubParent))
	for c := range a.SubParent {
		s := deepercluster.ClusterSummary{Sub: int32(c), Super: a.SubParent[c], Size: st.subSize[c], TopTags: snap.tt.top(st.subTags[c], max(n, 0))}
		if l := st.subTags[c]; len(l) > 0 && s.Size > 0 {
			s.TopShare = float64(l[0].n) / float64(s.Size)
		}
		for _, k := range keywords(snap.tt, st.subTags[c], mean, n) {
			s.Keywords = append(s.Keywords, k.Tag)
		}
		out[c] = s
	}
	return out
}

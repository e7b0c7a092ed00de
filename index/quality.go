package index

import (
	"cmp"
	"context"
	"math"
	"slices"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/cluster"
)

// CTFIDF is BERTopic's class-based TF-IDF weight of a tag in a cluster, in
// the form the keywords use: tf * log(1 + A/f), where tf is the number of the
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
func (ix *Index) Quality(ctx context.Context, n int) (*deepercluster.Quality, error) {
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
		return nil, deepercluster.ErrNotReady
	}
	snap.qOnce.Do(func() { snap.quality = computeQuality(snap, ix.ds, ix.opt.TopTags) })
	q := *snap.quality
	if n > 0 && n < ix.opt.TopTags {
		cut := func(cs []deepercluster.ClusterQuality) []deepercluster.ClusterQuality {
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

// computeQuality works out every figure of deepercluster.Quality for one
// snapshot.
func computeQuality(s *snapshot, ds deepercluster.Dataset, top int) *deepercluster.Quality {
	a, tt, st := s.a, s.tt, s.stats
	n := len(a.Super)
	q := &deepercluster.Quality{Version: a.Version, Images: n}

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
		q.Labels = &deepercluster.LabelQuality{
			NMISuper: cluster.NMI(a.Super, labels), NMISub: cluster.NMI(a.Sub, labels),
			ARISuper: cluster.ARI(a.Super, labels), ARISub: cluster.ARI(a.Sub, labels),
			PuritySuper: cluster.Purity(a.Super, labels), PuritySub: cluster.Purity(a.Sub, labels),
		}
	}

	q.Supers = describe(deepercluster.LevelSuper, tt, st.superTags, st.superSize, func(c int) int32 { return int32(c) }, top)
	q.Subs = describe(deepercluster.LevelSub, tt, st.subTags, st.subSize, func(c int) int32 { return a.SubParent[c] }, top)
	return q
}

func describe(l deepercluster.Level, tt *tagTable, tags [][]tagCount, size []int, parent func(int) int32, top int) []deepercluster.ClusterQuality {
	mean := meanSize(size)
	out := make([]deepercluster.ClusterQuality, len(size))
	for c := range size {
		cq := deepercluster.ClusterQuality{Level: l, ID: int32(c), Super: parent(c), Size: size[c]}
		for _, t := range tags[c][:min(top, len(tags[c]))] {
			cq.TopTags = append(cq.TopTags, deepercluster.TagShare{Tag: tt.names[t.id], Count: int(t.n), Share: float64(t.n) / float64(size[c])})
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
func keywords(tt *tagTable, tags []tagCount, mean float64, n int) []deepercluster.Keyword {
	kw := make([]deepercluster.Keyword, len(tags))
	for i, t := range tags {
		kw[i] = deepercluster.Keyword{Tag: tt.names[t.id], Weight: CTFIDF(int(t.n), mean, tt.freq[t.id])}
	}
	slices.SortFunc(kw, func(x, y deepercluster.Keyword) int {
		return cmp.Or(cmp.Compare(y.Weight, x.Weight), cmp.Compare(x.Tag, y.Tag))
	})
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

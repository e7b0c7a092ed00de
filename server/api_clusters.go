package server

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/deepercluster/deepercluster"
)

type subJSON struct {
	Sub      int32                    `json:"sub"`
	Size     int                      `json:"size"`
	TopTags  []deepercluster.TagCount `json:"top_tags"`
	TopShare jsonFloat                `json:"top_share"`
	Keywords []keywordJSON            `json:"keywords"`
	// Note is what a user wrote about the cluster, absent when nothing.
	Note *noteJSON `json:"note,omitempty"`
}

type keywordJSON struct {
	Tag    string    `json:"tag"`
	Weight jsonFloat `json:"weight"`
}

func toKeywords(ks []deepercluster.Keyword) []keywordJSON {
	out := make([]keywordJSON, len(ks))
	for i, k := range ks {
		out[i] = keywordJSON{k.Tag, jsonFloat(k.Weight)}
	}
	return out
}

// tagQualityJSON is the index's agreement of clusters with the metadata.
type tagQualityJSON struct {
	Tagged         int                  `json:"tagged"`
	Untagged       int                  `json:"untagged"`
	TagNMISuper    jsonFloat            `json:"tag_nmi_super"`
	TagNMISub      jsonFloat            `json:"tag_nmi_sub"`
	TagPuritySuper jsonFloat            `json:"tag_purity_super"`
	TagPuritySub   jsonFloat            `json:"tag_purity_sub"`
	Labels         map[string]jsonFloat `json:"labels,omitempty"`
}

func toTagQuality(q *deepercluster.Quality) *tagQualityJSON {
	if q == nil {
		return nil
	}
	out := &tagQualityJSON{q.Tagged, q.Untagged, jsonFloat(q.TagNMISuper), jsonFloat(q.TagNMISub),
		jsonFloat(q.TagPuritySuper), jsonFloat(q.TagPuritySub), nil}
	if l := q.Labels; l != nil {
		out.Labels = map[string]jsonFloat{
			"nmi_super": jsonFloat(l.NMISuper), "nmi_sub": jsonFloat(l.NMISub),
			"ari_super": jsonFloat(l.ARISuper), "ari_sub": jsonFloat(l.ARISub),
			"purity_super": jsonFloat(l.PuritySuper), "purity_sub": jsonFloat(l.PuritySub),
		}
	}
	return out
}

type superJSON struct {
	Super    int                      `json:"super"`
	Size     int                      `json:"size"`
	TopTags  []deepercluster.TagCount `json:"top_tags"`
	TopShare jsonFloat                `json:"top_share"`
	Subs     []subJSON                `json:"subs"`
}

type clustersJSON struct {
	Version uint32       `json:"version"`
	M       int          `json:"m"`
	Subs    int          `json:"subs"`
	Tagged  bool         `json:"tagged"` // whether the index has summarised this version
	Quality *metricsJSON `json:"quality"`
	// TagQuality is nil until the index has summarised this version.
	TagQuality *tagQualityJSON `json:"tag_quality"`
	Supers     []superJSON     `json:"supers"`
}

// topTagsN is how many tags a super-cluster lists.
const topTagsN = 5

func (s *Server) getClusters(c echo.Context) error {
	st := s.current()
	s.mu.Lock()
	met := s.lastMet
	s.mu.Unlock()
	if st == nil {
		return c.JSON(http.StatusOK, clustersJSON{Supers: []superJSON{}, Quality: toMetricsJSON(met)})
	}
	a := st.a
	_, subSizes := a.Sizes()
	out := clustersJSON{Version: a.Version, M: a.M, Subs: len(a.SubParent), Tagged: st.sums != nil,
		Quality: toMetricsJSON(met), TagQuality: toTagQuality(st.quality)}
	keywords := map[int32][]keywordJSON{}
	if st.quality != nil {
		for _, cq := range st.quality.Subs {
			keywords[cq.ID] = toKeywords(cq.Keywords)
		}
	}
	out.Supers = make([]superJSON, a.M)
	tagSums := make([]map[string]int, a.M)
	for i := range out.Supers {
		out.Supers[i] = superJSON{Super: i, Size: st.supers[i], Subs: []subJSON{}, TopTags: []deepercluster.TagCount{}}
		tagSums[i] = map[string]int{}
	}
	notes := s.notes.all()
	bySub := map[int32]*deepercluster.ClusterSummary{}
	for i := range st.sums {
		bySub[st.sums[i].Sub] = &st.sums[i]
	}
	for j, p := range a.SubParent {
		sj := subJSON{Sub: int32(j), Size: subSizes[j], TopTags: []deepercluster.TagCount{}, Keywords: keywords[int32(j)]}
		if sj.Keywords == nil {
			sj.Keywords = []keywordJSON{}
		}
		if n, ok := notes[int32(j)]; ok && n.Version == a.Version {
			sj.Note = toNoteJSON(n)
		}
		if cs := bySub[int32(j)]; cs != nil {
			sj.TopTags = cs.TopTags
			sj.TopShare = jsonFloat(cs.TopShare)
			for _, t := range cs.TopTags {
				tagSums[p][t.Tag] += t.Count
			}
		}
		out.Supers[p].Subs = append(out.Supers[p].Subs, sj)
	}
	for i := range out.Supers {
		for t, n := range tagSums[i] {
			out.Supers[i].TopTags = append(out.Supers[i].TopTags, deepercluster.TagCount{Tag: t, Count: n})
		}
		tt := out.Supers[i].TopTags
		slices.SortFunc(tt, func(x, y deepercluster.TagCount) int {
			if x.Count != y.Count {
				return y.Count - x.Count
			}
			return strings.Compare(x.Tag, y.Tag)
		})
		if len(tt) > topTagsN {
			out.Supers[i].TopTags = tt[:topTagsN]
		}
		if len(tt) > 0 && out.Supers[i].Size > 0 {
			out.Supers[i].TopShare = jsonFloat(float64(tt[0].Count) / float64(out.Supers[i].Size))
		}
	}
	return c.JSON(http.StatusOK, out)
}

type imageJSON struct {
	ID   int      `json:"id"`
	Tags []string `json:"tags"`
}

func (s *Server) getCluster(c echo.Context) error {
	st := s.current()
	if st == nil {
		return fail(http.StatusServiceUnavailable, "", "no clustering yet: the first one is running")
	}
	sup, sub, err := s.clusterPath(c, st)
	if err != nil {
		return err
	}
	page := 0
	if v := c.QueryParam("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 0 {
			return fail(http.StatusBadRequest, "page", "page must be a non-negative integer, got %q", v)
		}
	}
	ids := st.members[sub]
	per := s.cfg.PageSize
	pages := (len(ids) + per - 1) / per
	if page > 0 && page >= pages {
		return fail(http.StatusNotFound, "page", "page %d of a cluster with %d pages", page, pages)
	}
	lo := min(page*per, len(ids))
	hi := min(lo+per, len(ids))
	imgs := make([]imageJSON, 0, hi-lo)
	for _, id := range ids[lo:hi] {
		tags := s.ds.Meta(int(id)).Tags
		if tags == nil {
			tags = []string{}
		}
		imgs = append(imgs, imageJSON{ID: int(id), Tags: tags})
	}
	out := map[string]any{
		"version": st.a.Version, "super": sup, "sub": sub, "size": len(ids),
		"page": page, "pages": pages, "per_page": per, "images": imgs,
		"keywords": []keywordJSON{}, "top_tags": []deepercluster.TagShare{},
		"quality": s.clusterQuality(ids), "note": nil,
	}
	if n, ok := s.notes.get(int32(sub)); ok && n.Version == st.a.Version {
		out["note"] = toNoteJSON(n)
	}
	if st.quality != nil {
		for _, cq := range st.quality.Subs {
			if cq.ID != int32(sub) {
				continue
			}
			out["keywords"], out["top_tags"] = toKeywords(cq.Keywords), cq.TopTags
			if len(cq.TopTags) > 0 {
				out["quality"].(map[string]jsonFloat)["top_tag_share"] = jsonFloat(cq.TopTags[0].Share)
			}
			break
		}
	}
	return c.JSON(http.StatusOK, out)
}

// clusterQuality gives the figures the UI's cluster panel lists: the
// cluster's share of the dataset and, where the dataset has labels, the
// purity of the cluster (share of its most common label).
func (s *Server) clusterQuality(ids []int32) map[string]jsonFloat {
	q := map[string]jsonFloat{"dataset_share": jsonFloat(float64(len(ids)) / float64(max(1, s.ds.Len())))}
	counts := map[int]int{}
	best := 0
	for _, id := range ids {
		l, ok := s.ds.Label(int(id))
		if !ok {
			return q
		}
		counts[l]++
		best = max(best, counts[l])
	}
	if len(ids) > 0 {
		q["label_purity"] = jsonFloat(float64(best) / float64(len(ids)))
	}
	return q
}

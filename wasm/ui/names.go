package ui

import (
	"math"
	"strconv"

	"github.com/deepercluster/deepercluster"
)

// ClusterName is what every view (treemap, map, flow) calls sub-cluster z
// of the current version, so one cluster has one name on the page: the
// name a user gave it in a note (noteName), else its first c-TF-IDF
// keyword (what sets it apart), else its most frequent tag, both with
// "#"; "" when none is known yet (the caller shows its id).
func ClusterName(noteName string, sums []deepercluster.ClusterSummary, z int32) string {
	if noteName != "" {
		return noteName
	}
	if z >= 0 && int(z) < len(sums) {
		cs := &sums[z]
		if len(cs.Keywords) > 0 {
			return "#" + cs.Keywords[0]
		}
		if len(cs.TopTags) > 0 {
			return "#" + cs.TopTags[0].Tag
		}
	}
	return ""
}

// ClusterColor is the treemap's colour of sub-cluster z of the current
// version (SubColor of its super-cluster's colour key and its own, from
// st), which the map and the flow view use too. Ids stand in for keys st
// does not have (before the first version, or past its end).
func ClusterColor(st *Stable, subParent []int32, z int32) Color {
	sup := int32(0)
	if z >= 0 && int(z) < len(subParent) {
		sup = subParent[z]
	}
	return SubColor(stableKey(st.SuperKey, sup), stableKey(st.SubKey, z))
}

// SuperClusterColor is the treemap's colour of super-cluster s of the
// current version.
func SuperClusterColor(st *Stable, s int32) Color {
	return SuperColor(stableKey(st.SuperKey, s))
}

// stableKey is keys[i], or i where keys has none.
func stableKey(keys []uint32, i int32) uint32 {
	if i >= 0 && int(i) < len(keys) {
		return keys[i]
	}
	return uint32(max(i, 0))
}

// FlowSuccessor is, for each node of l's left column, the index of the
// right-column node that took most of its images (-1 for a node with no
// band), so an older version's cluster can be named and coloured after
// the current cluster it became.
func FlowSuccessor(l *FlowLayout) []int {
	best := make([]int, len(l.Left))
	cnt := make([]int, len(l.Left))
	for i := range best {
		best[i] = -1
	}
	for _, b := range l.Bands {
		if b.Count > cnt[b.L] {
			best[b.L], cnt[b.L] = b.R, b.Count
		}
	}
	return best
}

// SearchScoreLabel is the text beside each search result: the index's
// rank score (deepercluster.ClusterHit.Score, matching images times
// ln(lift)), named, so a reader does not take a bare number for a count or
// a percentage.
func SearchScoreLabel(score float64) string {
	return "score " + formatScore(score)
}

// SearchScoreTitle explains the score, as the tooltip of its label.
const SearchScoreTitle = "rank score: matching images × ln(lift); higher means the tag is both frequent and concentrated in this cluster"

// formatScore writes a score with one decimal under 100 and none above
// (239.450 reads as "239").
func formatScore(s float64) string {
	if math.Abs(s) >= 100 {
		return strconv.FormatFloat(s, 'f', 0, 64)
	}
	return strconv.FormatFloat(s, 'f', 1, 64)
}

// FlowStyle is how the flow view shows one node: its label and colour.
type FlowStyle struct {
	Name  string
	Color Color
}

// FlowStyles names and colours the nodes of l as the treemap shows their
// clusters. name and color describe a cluster of the current version by id
// (name "" when it has none yet); leftCurrent and rightCurrent say which
// columns are the current version. A node of the current version gets its
// own name and colour; a node of an older version gets those of the
// current cluster that took most of its images (its successor, as the
// treemap keeps a matched cluster's colour and place across versions) when
// the right column is current; otherwise, and where no name is known, its
// id ("c37", or "s3" for super-clusters) and its super-cluster's colour by
// id.
func FlowStyles(l *FlowLayout, leftCurrent, rightCurrent, super bool, name func(id int32) string, color func(id int32) Color) (left, right []FlowStyle) {
	own := func(n FlowNode, current bool) FlowStyle {
		prefix := "c"
		if super {
			prefix = "s"
		}
		st := FlowStyle{Name: prefix + strconv.Itoa(int(n.ID)), Color: SuperColor(uint32(max(n.Super, 0)))}
		if current {
			st.Color = color(n.ID)
			if nm := name(n.ID); nm != "" {
				st.Name = nm
			}
		}
		return st
	}
	right = make([]FlowStyle, len(l.Right))
	for i, n := range l.Right {
		right[i] = own(n, rightCurrent)
	}
	left = make([]FlowStyle, len(l.Left))
	succ := FlowSuccessor(l)
	for i, n := range l.Left {
		left[i] = own(n, leftCurrent)
		if !leftCurrent && rightCurrent && succ[i] >= 0 {
			r := l.Right[succ[i]]
			left[i].Color = right[succ[i]].Color
			if name(r.ID) != "" {
				left[i].Name = right[succ[i]].Name
			}
		}
	}
	return left, right
}

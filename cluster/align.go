package cluster

import (
	"slices"

	"github.com/deepercluster/deepercluster"
)

// Align renames the clusters of cur, in place, so that each takes the id of
// the cluster of prev it shares the most images with. k-means numbers its
// clusters arbitrarily on every run; without this, a reclustering that
// barely changes the partition would still move almost every image to a
// new id, so the websocket delta, the index update and the UI's layout
// would all redo the whole set. The partition itself is not changed.
//
// Matching is greedy on overlap counts, largest first, separately for
// super-clusters and sub-clusters; a cluster left unmatched takes the
// smallest free id. Ids stay within cur's ranges (a cluster of prev whose id
// is out of range cannot be matched). prev may be nil or of another length,
// in which case cur is left as it is.
func Align(prev, cur *deepercluster.Assignment) {
	if prev == nil || len(prev.Super) != len(cur.Super) || len(cur.Super) == 0 {
		return
	}
	superMap := matchIDs(prev.Super, cur.Super, cur.M)
	subMap := matchIDs(prev.Sub, cur.Sub, len(cur.SubParent))
	for i := range cur.Super {
		cur.Super[i] = superMap[cur.Super[i]]
		cur.Sub[i] = subMap[cur.Sub[i]]
	}
	parent := make([]int32, len(cur.SubParent))
	for j, p := range cur.SubParent {
		parent[subMap[j]] = superMap[p]
	}
	cur.SubParent = parent
}

// matchIDs returns, for every id of cur in [0, n), its new id.
func matchIDs(prev, cur []int32, n int) []int32 {
	type pair struct {
		cur, prev int32
		count     int
	}
	counts := make(map[[2]int32]int)
	for i := range cur {
		if p := prev[i]; p >= 0 && int(p) < n {
			counts[[2]int32{cur[i], p}]++
		}
	}
	pairs := make([]pair, 0, len(counts))
	for k, c := range counts {
		pairs = append(pairs, pair{k[0], k[1], c})
	}
	// Largest overlap first; ties broken by ids so the result is deterministic.
	slices.SortFunc(pairs, func(a, b pair) int {
		if a.count != b.count {
			return b.count - a.count
		}
		if a.cur != b.cur {
			return int(a.cur - b.cur)
		}
		return int(a.prev - b.prev)
	})
	mapping := make([]int32, n)
	for i := range mapping {
		mapping[i] = -1
	}
	taken := make([]bool, n)
	for _, p := range pairs {
		if mapping[p.cur] < 0 && !taken[p.prev] {
			mapping[p.cur] = p.prev
			taken[p.prev] = true
		}
	}
	free := 0
	for i := range mapping {
		if mapping[i] >= 0 {
			continue
		}
		for taken[free] {
			free++
		}
		mapping[i] = int32(free)
		taken[free] = true
	}
	return mapping
}

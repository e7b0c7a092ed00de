package ui

import (
	"cmp"
	"slices"

	"github.com/deepercluster/deepercluster"
)

// MatchByOverlap pairs the clusters of a new Assignment version with those of
// the previous one by the images they share: greedily, largest overlap
// first, each old cluster used at most once. oldIDs[i] and newIDs[i] are the
// clusters of image i in the two versions (ids in [0,nOld) and [0,nNew));
// ids out of range are ignored. The result maps each new cluster to its old
// partner, or -1. It runs in O(images + pairs log pairs) and never builds a
// dense nOld x nNew matrix: k-means relabels clusters arbitrarily, so only
// overlap says which clusters persist.
func MatchByOverlap(oldIDs, newIDs []int32, nOld, nNew int) []int32 {
	match := make([]int32, nNew)
	for i := range match {
		match[i] = -1
	}
	n := min(len(oldIDs), len(newIDs))
	if n == 0 || nOld == 0 || nNew == 0 {
		return match
	}
	// Images grouped by new cluster, then per new cluster the counts of
	// old clusters in a scratch array with a touched list.
	start, members := deepercluster.GroupByLabel(newIDs[:n], nNew, nil, nil)
	type pair struct{ count, nw, old int32 }
	var pairs []pair
	counts := make([]int32, nOld)
	var touched []int32
	for j := 0; j < nNew; j++ {
		touched = touched[:0]
		for _, i := range members[start[j]:start[j+1]] {
			o := oldIDs[i]
			if o < 0 || int(o) >= nOld {
				continue
			}
			if counts[o] == 0 {
				touched = append(touched, o)
			}
			counts[o]++
		}
		for _, o := range touched {
			pairs = append(pairs, pair{counts[o], int32(j), o})
			counts[o] = 0
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := cmp.Compare(b.count, a.count); c != 0 {
			return c
		}
		if c := cmp.Compare(a.nw, b.nw); c != 0 {
			return c
		}
		return cmp.Compare(a.old, b.old)
	})
	used := make([]bool, nOld)
	for _, p := range pairs {
		if match[p.nw] < 0 && !used[p.old] {
			match[p.nw] = p.old
			used[p.old] = true
		}
	}
	return match
}

// Stable carries the identity of clusters across Assignment versions: a
// placement rank (the order in which the treemap lays them out, so a
// persisting cluster lands near where it was) and a colour key (so it keeps
// its colour). The zero value is ready; feed it every version in turn.
type Stable struct {
	version   uint32
	super     []int32 // per image, the version last seen
	sub       []int32
	SuperRank []int32 // per super-cluster id of the current version
	SubRank   []int32 // per sub-cluster id
	SuperKey  []uint32
	SubKey    []uint32
	nextKey   uint32
}

// Update takes a new version (Super, Sub, M and SubParent as in
// deepercluster.Assignment) and returns, for each of its super- and
// sub-clusters, the id of the matched cluster of the previous version or -1.
// The first version, or one with a different number of images, matches
// nothing and is ranked by size, largest first.
func (s *Stable) Update(version uint32, super, sub []int32, m int, subParent []int32) (superMatch, subMatch []int32) {
	nsub := len(subParent)
	first := s.super == nil || len(s.super) != len(super)
	if first {
		superMatch = make([]int32, m)
		subMatch = make([]int32, nsub)
		for i := range superMatch {
			superMatch[i] = -1
		}
		for i := range subMatch {
			subMatch[i] = -1
		}
	} else {
		superMatch = MatchByOverlap(s.super, super, len(s.SuperRank), m)
		subMatch = MatchByOverlap(s.sub, sub, len(s.SubRank), nsub)
	}
	superSize := make([]int, m)
	subSize := make([]int, nsub)
	for i := range super {
		if z := super[i]; z >= 0 && int(z) < m {
			superSize[z]++
		}
		if z := sub[i]; z >= 0 && int(z) < nsub {
			subSize[z]++
		}
	}
	s.SuperRank, s.SuperKey = s.carry(superMatch, superSize, s.SuperRank, s.SuperKey)
	s.SubRank, s.SubKey = s.carry(subMatch, subSize, s.SubRank, s.SubKey)
	s.super = append(s.super[:0], super...)
	s.sub = append(s.sub[:0], sub...)
	s.version = version
	return superMatch, subMatch
}

// carry gives matched clusters their old rank and key, and the others fresh
// keys and ranks after all old ones, largest first; ranks are then
// renumbered 0..n-1 so they stay small.
func (s *Stable) carry(match []int32, size []int, oldRank []int32, oldKey []uint32) ([]int32, []uint32) {
	n := len(match)
	type ent struct {
		id   int32
		old  bool
		rank int32
		size int
	}
	ents := make([]ent, n)
	key := make([]uint32, n)
	for j := range match {
		e := ent{id: int32(j), size: size[j]}
		if o := match[j]; o >= 0 && int(o) < len(oldRank) {
			e.old, e.rank = true, oldRank[o]
			key[j] = oldKey[o]
		} else {
			key[j] = s.nextKey
			s.nextKey++
		}
		ents[j] = e
	}
	slices.SortStableFunc(ents, func(a, b ent) int {
		switch {
		case a.old && !b.old:
			return -1
		case !a.old && b.old:
			return 1
		case a.old:
			return cmp.Compare(a.rank, b.rank)
		}
		if c := cmp.Compare(b.size, a.size); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	rank := make([]int32, n)
	for r, e := range ents {
		rank[e.id] = int32(r)
	}
	return rank, key
}

// Version is the last version given to Update.
func (s *Stable) Version() uint32 { return s.version }

package index

import (
	"cmp"
	"context"
	"slices"

	"github.com/deepercluster/deepercluster"
)

// tagTable holds the normalised tags of every image of a dataset, interned.
// Tags do not change between Assignment versions, so it is built once.
type tagTable struct {
	names []string       // tag id -> normalised tag
	freq  []int          // tag id -> images carrying it
	off   []int32        // image i's tags are ids[off[i]:off[i+1]]
	ids   []uint32       // tag ids, unique per image
	byTag map[string]int // normalised tag -> id
}

func (t *tagTable) imageTags(i int) []uint32 { return t.ids[t.off[i]:t.off[i+1]] }

// buildTagTable normalises every image's tags with the index's tag
// analyser, so that in-memory counts agree with what bleve matches.
func buildTagTable(ctx context.Context, ds deepercluster.Dataset, an analyzers) (*tagTable, error) {
	n := ds.Len()
	t := &tagTable{off: make([]int32, n+1), byTag: map[string]int{}}
	var seen []uint32
	for i := range n {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		seen = seen[:0]
		for _, raw := range ds.Meta(i).Tags {
			tag := an.normTag(raw)
			if tag == "" {
				continue
			}
			id, ok := t.byTag[tag]
			if !ok {
				id = len(t.names)
				t.byTag[tag] = id
				t.names = append(t.names, tag)
				t.freq = append(t.freq, 0)
			}
			if slices.Contains(seen, uint32(id)) {
				continue
			}
			seen = append(seen, uint32(id))
			t.freq[id]++
			t.ids = append(t.ids, uint32(id))
		}
		t.off[i+1] = int32(len(t.ids))
	}
	return t, nil
}

// tagCount is a tag id with a count, inside one cluster.
type tagCount struct {
	id uint32
	n  int32
}

// clusterStats are the tag counts of every cluster of one Assignment.
type clusterStats struct {
	superSize, subSize []int
	// superTags[c] and subTags[c] hold every tag of cluster c with its
	// count, most frequent first (ties: alphabetical).
	superTags, subTags [][]tagCount
	// superOcc and subOcc count tag occurrences per cluster.
	superOcc, subOcc []int
}

// computeStats counts tags per cluster by sorting (cluster, tag) keys: no
// per-cluster maps, one pass over all tag occurrences.
func computeStats(tt *tagTable, a *deepercluster.Assignment) *clusterStats {
	s := &clusterStats{}
	s.superSize, s.subSize = a.Sizes()
	s.superTags, s.superOcc = countByCluster(tt, a.Super, a.M)
	s.subTags, s.subOcc = countByCluster(tt, a.Sub, len(a.SubParent))
	return s
}

func countByCluster(tt *tagTable, of []int32, k int) ([][]tagCount, []int) {
	keys := make([]uint64, 0, len(tt.ids))
	for i, c := range of {
		for _, id := range tt.imageTags(i) {
			keys = append(keys, uint64(c)<<32|uint64(id))
		}
	}
	slices.Sort(keys)
	out := make([][]tagCount, k)
	occ := make([]int, k)
	for j := 0; j < len(keys); {
		e := j
		for e < len(keys) && keys[e] == keys[j] {
			e++
		}
		c := int(keys[j] >> 32)
		out[c] = append(out[c], tagCount{id: uint32(keys[j]), n: int32(e - j)})
		occ[c] += e - j
		j = e
	}
	for _, l := range out {
		slices.SortStableFunc(l, func(x, y tagCount) int {
			return cmp.Or(cmp.Compare(y.n, x.n), cmp.Compare(tt.names[x.id], tt.names[y.id]))
		})
	}
	return out, occ
}

// top returns the n most frequent tags of a cluster's list.
func (tt *tagTable) top(l []tagCount, n int) []deepercluster.TagCount {
	if n > len(l) {
		n = len(l)
	}
	out := make([]deepercluster.TagCount, n)
	for i := range n {
		out[i] = deepercluster.TagCount{Tag: tt.names[l[i].id], Count: int(l[i].n)}
	}
	return out
}

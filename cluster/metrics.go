package cluster

import (
	"math"
	"slices"

	"github.com/deepercluster/deepercluster"
)

// ContingencyTable is the sparse contingency table of two labellings of the
// same items: only the non-zero cells are stored, so k = 100,000 clusters
// cost memory in proportion to the items, not k x k.
type ContingencyTable struct {
	// A and B are the distinct labels of each labelling, ascending.
	A, B []int32
	// RowSums[i] counts the items labelled A[i]; ColSums[j] those labelled B[j].
	RowSums, ColSums []int
	// Cells are the non-zero cells, sorted by (Row, Col).
	Cells []Cell
	// N is the number of items.
	N int
}

// Cell is one non-zero cell of a ContingencyTable: Count items have label
// A[Row] in the first labelling and B[Col] in the second.
type Cell struct {
	Row, Col int
	Count    int
}

// Contingency counts how the labels of a and b co-occur. Labels may be any
// int32 values. Lengths must match; with different lengths the table covers
// the common prefix.
func Contingency(a, b []int32) ContingencyTable {
	n := min(len(a), len(b))
	a, b = a[:n], b[:n]
	ua, ia := relabel(a)
	ub, ib := relabel(b)
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = uint64(ia[i])<<32 | uint64(ib[i])
	}
	slices.Sort(keys)
	t := ContingencyTable{A: ua, B: ub, RowSums: make([]int, len(ua)), ColSums: make([]int, len(ub)), N: n}
	for i := 0; i < n; {
		j := i
		for j < n && keys[j] == keys[i] {
			j++
		}
		r, c := int(keys[i]>>32), int(uint32(keys[i]))
		t.Cells = append(t.Cells, Cell{Row: r, Col: c, Count: j - i})
		t.RowSums[r] += j - i
		t.ColSums[c] += j - i
		i = j
	}
	return t
}

// relabel maps labels to 0..u-1 in the order of their values.
func relabel(a []int32) (uniq []int32, idx []int32) {
	uniq = slices.Clone(a)
	slices.Sort(uniq)
	uniq = slices.Compact(uniq)
	idx = make([]int32, len(a))
	// Dense lookup when the label range is small, binary search otherwise.
	if len(uniq) > 0 && int64(uniq[len(uniq)-1])-int64(uniq[0]) < 4*int64(len(a))+1024 {
		lo := uniq[0]
		lut := make([]int32, int(int64(uniq[len(uniq)-1])-int64(lo))+1)
		for i, v := range uniq {
			lut[v-lo] = int32(i)
		}
		for i, v := range a {
			idx[i] = lut[v-lo]
		}
		return uniq, idx
	}
	for i, v := range a {
		j, _ := slices.BinarySearch(uniq, v)
		idx[i] = int32(j)
	}
	return uniq, idx
}

func entropyOf(counts []int, n int) float64 {
	var h float64
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / float64(n)
			h -= p * math.Log(p)
		}
	}
	return h
}

// MutualInfo is the mutual information (nats) of the table's two labellings.
func (t ContingencyTable) MutualInfo() float64 {
	var mi float64
	n := float64(t.N)
	for _, c := range t.Cells {
		nij := float64(c.Count)
		mi += nij / n * math.Log(nij*n/(float64(t.RowSums[c.Row])*float64(t.ColSums[c.Col])))
	}
	return math.Max(mi, 0)
}

// NMI is the normalised mutual information of two labellings with the
// arithmetic mean of the entropies as normaliser, like scikit-learn's
// default normalized_mutual_info_score (including its special cases: 1 when
// both labellings have a single class, 0 when the mutual information is 0).
// It is NaN when the lengths differ. Use it for label quality and for the
// stability between two consecutive assignments.
func NMI(a, b []int32) float64 {
	if len(a) != len(b) {
		return math.NaN()
	}
	t := Contingency(a, b)
	if len(t.A) == len(t.B) && len(t.A) <= 1 {
		return 1
	}
	mi := t.MutualInfo()
	if mi == 0 {
		return 0
	}
	norm := (entropyOf(t.RowSums, t.N) + entropyOf(t.ColSums, t.N)) / 2
	return mi / math.Max(norm, 2.220446049250313e-16)
}

// ARI is the adjusted Rand index of two labellings, as scikit-learn's
// adjusted_rand_score: 1 for identical partitions, about 0 for independent
// ones. It is NaN when the lengths differ.
func ARI(a, b []int32) float64 {
	if len(a) != len(b) {
		return math.NaN()
	}
	t := Contingency(a, b)
	n := float64(t.N)
	var sumSq float64
	for _, c := range t.Cells {
		sumSq += float64(c.Count) * float64(c.Count)
	}
	sq := func(s []int) float64 {
		var v float64
		for _, x := range s {
			v += float64(x) * float64(x)
		}
		return v
	}
	// Pair confusion matrix, as scikit-learn computes it.
	tp := sumSq - n
	fp := sq(t.ColSums) - sumSq
	fn := sq(t.RowSums) - sumSq
	tn := n*n - fp - fn - sumSq
	if fn == 0 && fp == 0 {
		return 1
	}
	return 2 * (tp*tn - fn*fp) / ((tp+fn)*(fn+tn) + (tp+fp)*(fp+tn))
}

// Purity is the share of items whose cluster's most frequent label is their
// own label: 1 when every cluster holds a single label. NaN when the lengths
// differ or there are no items.
func Purity(clusters, labels []int32) float64 {
	if len(clusters) != len(labels) || len(clusters) == 0 {
		return math.NaN()
	}
	t := Contingency(clusters, labels)
	best := make([]int, len(t.A))
	for _, c := range t.Cells {
		best[c.Row] = max(best[c.Row], c.Count)
	}
	total := 0
	for _, v := range best {
		total += v
	}
	return float64(total) / float64(t.N)
}

// StabilityNMI is the NMI between the sub-clusters of two assignments of the
// same images, the paper's measure of how much a reclustering changed; NaN
// when either is missing or they cover different numbers of images.
func StabilityNMI(prev, cur *deepercluster.Assignment) float64 {
	if prev == nil || cur == nil {
		return math.NaN()
	}
	return NMI(prev.Sub, cur.Sub)
}

// Accuracy is the clustering accuracy of the deep-clustering literature
// (ACC): the share of items whose cluster, mapped one-to-one onto a label by
// the best assignment (Hungarian algorithm on the contingency table), is
// their label. Clusters beyond the number of labels match nothing. NaN when
// the lengths differ or there are no items.
func Accuracy(clusters, labels []int32) float64 {
	if len(clusters) != len(labels) || len(clusters) == 0 {
		return math.NaN()
	}
	t := Contingency(clusters, labels)
	// Maximise matched counts = minimise (max - count) over a square matrix.
	n := max(len(t.A), len(t.B))
	cost := make([][]float64, n)
	for i := range cost {
		cost[i] = make([]float64, n)
	}
	for _, c := range t.Cells {
		cost[c.Row][c.Col] = -float64(c.Count)
	}
	match := hungarian(cost)
	hit := 0.0
	for i, j := range match {
		hit -= cost[i][j]
	}
	return hit / float64(t.N)
}

// hungarian solves the square assignment problem: it returns, for each row,
// the column that minimises the total cost (Kuhn-Munkres with potentials,
// O(n^3)).
func hungarian(cost [][]float64) []int {
	n := len(cost)
	inf := math.Inf(1)
	u, v := make([]float64, n+1), make([]float64, n+1)
	p, way := make([]int, n+1), make([]int, n+1) // p[j]: row matched to column j (1-based)
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		minv := make([]float64, n+1)
		used := make([]bool, n+1)
		for j := range minv {
			minv[j] = inf
		}
		for {
			used[j0] = true
			i0, delta, j1 := p[j0], inf, 0
			for j := 1; j <= n; j++ {
				if used[j] {
					continue
				}
				if cur := cost[i0-1][j-1] - u[i0] - v[j]; cur < minv[j] {
					minv[j], way[j] = cur, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= n; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	rowCol := make([]int, n)
	for j := 1; j <= n; j++ {
		if p[j] > 0 {
			rowCol[p[j]-1] = j - 1
		}
	}
	return rowCol
}

package ui

import (
	"cmp"
	"math"
	"slices"
)

// FlowLink is one non-zero cell of the contingency table of two versions:
// Count images went from cluster From of the older version to cluster To
// of the newer (deepercluster.FlowLink, without the root package).
type FlowLink struct {
	From, To int32
	Count    int
}

// FlowInput is what an alluvial diagram is laid out from: the sparse
// contingency table of sub-clusters and each sub-cluster's super-cluster in
// its version. With Super the diagram shows super-clusters instead (each
// link summed into its super-clusters' pair).
type FlowInput struct {
	Links                []FlowLink
	FromParent, ToParent []int32
	Super                bool
}

// FlowNode is one cluster of a column: its id (sub- or super-cluster of its
// version), its super-cluster, its image count and its span [Y, Y+H).
type FlowNode struct {
	ID, Super int32
	Count     int
	Y, H      float64
	// Targets (on the left) or Sources (on the right): how many clusters
	// of the other column took at least 20% of this one's images: 2 or
	// more on the left is a split, on the right a merge.
	Major int
}

// FlowBand is one link drawn: from left node L to right node R (indices
// into Left and Right), leaving the left node at Y0 and reaching the right
// one at Y1, H thick.
type FlowBand struct {
	L, R   int
	Count  int
	Y0, Y1 float64
	H      float64
}

// FlowLayout is an alluvial diagram laid out in a column of height Height:
// the older version's clusters on the left, the newer's on the right, bands
// between them sized by image counts.
type FlowLayout struct {
	Left, Right []FlowNode
	Bands       []FlowBand
	Height      float64
	// Total is the number of images of the table (the sum of each column).
	Total int
}

// majorShare is the share of a cluster's images that makes a link to it a
// major one (a split or merge shows as two or more).
const majorShare = 0.2

// LayoutFlow lays the table out in a column of the given height with gap
// pixels between nodes. The left column is grouped by super-cluster
// (largest first) and, inside, by size; the right column follows the left:
// each right node (and, grouped, each super-cluster) sits at the barycentre
// of the left nodes it draws from, so persisting clusters line up
// straight across and splits and merges fan out.
func LayoutFlow(in FlowInput, height, gap float64) *FlowLayout {
	links := in.Links
	fromParent, toParent := in.FromParent, in.ToParent
	if in.Super {
		links, fromParent, toParent = superLinks(in)
	}
	parent := func(ps []int32, z int32) int32 {
		if z >= 0 && int(z) < len(ps) {
			return ps[z]
		}
		return -1
	}
	// Nodes: the clusters with any images in the table.
	leftIx, rightIx := map[int32]int{}, map[int32]int{}
	var left, right []FlowNode
	total := 0
	for _, l := range links {
		if l.Count <= 0 {
			continue
		}
		total += l.Count
		i, ok := leftIx[l.From]
		if !ok {
			i = len(left)
			leftIx[l.From] = i
			left = append(left, FlowNode{ID: l.From, Super: parent(fromParent, l.From)})
		}
		left[i].Count += l.Count
		j, ok := rightIx[l.To]
		if !ok {
			j = len(right)
			rightIx[l.To] = j
			right = append(right, FlowNode{ID: l.To, Super: parent(toParent, l.To)})
		}
		right[j].Count += l.Count
	}
	f := &FlowLayout{Height: height, Total: total}
	if total == 0 {
		return f
	}
	// Left order: super-clusters by size, then their clusters by size.
	superSize := map[int32]int{}
	for _, n := range left {
		superSize[n.Super] += n.Count
	}
	slices.SortFunc(left, func(a, b FlowNode) int {
		if a.Super != b.Super {
			if c := cmp.Compare(superSize[b.Super], superSize[a.Super]); c != 0 {
				return c
			}
			return cmp.Compare(a.Super, b.Super)
		}
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	for i, n := range left {
		leftIx[n.ID] = i
	}
	// Right order: by barycentre of the left ranks each draws from; in
	// super-cluster groups (sub-clusters mode), groups by their own
	// barycentre.
	bary := make(map[int32]float64, len(right))
	for _, l := range links {
		if l.Count > 0 {
			bary[l.To] += float64(leftIx[l.From]) * float64(l.Count)
		}
	}
	groupBary := map[int32]float64{}
	groupCount := map[int32]int{}
	for _, n := range right {
		bary[n.ID] /= float64(n.Count)
		groupBary[n.Super] += bary[n.ID] * float64(n.Count)
		groupCount[n.Super] += n.Count
	}
	grouped := !in.Super
	slices.SortFunc(right, func(a, b FlowNode) int {
		if grouped && a.Super != b.Super {
			ga := groupBary[a.Super] / float64(groupCount[a.Super])
			gb := groupBary[b.Super] / float64(groupCount[b.Super])
			if c := cmp.Compare(ga, gb); c != 0 {
				return c
			}
			return cmp.Compare(a.Super, b.Super)
		}
		if c := cmp.Compare(bary[a.ID], bary[b.ID]); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	for j, n := range right {
		rightIx[n.ID] = j
	}
	// Scale: one for both columns, so a band is as thick at both ends.
	nGaps := float64(max(len(left), len(right)) - 1)
	g := gap
	if nGaps*g > height/2 {
		g = height / 2 / math.Max(nGaps, 1)
	}
	scale := (height - nGaps*g) / float64(total)
	place := func(ns []FlowNode) {
		// Centre the column that has fewer nodes.
		used := float64(total)*scale + float64(len(ns)-1)*g
		y := (height - used) / 2
		for i := range ns {
			ns[i].Y, ns[i].H = y, float64(ns[i].Count)*scale
			y += ns[i].H + g
		}
	}
	place(left)
	place(right)
	// Bands: leave a left node in the order of their right ends, reach a
	// right node in the order of their left ends, so bands do not cross at
	// their own nodes.
	f.Bands = make([]FlowBand, 0, len(links))
	for _, l := range links {
		if l.Count > 0 {
			f.Bands = append(f.Bands, FlowBand{L: leftIx[l.From], R: rightIx[l.To], Count: l.Count, H: float64(l.Count) * scale})
		}
	}
	slices.SortFunc(f.Bands, func(a, b FlowBand) int {
		if c := cmp.Compare(a.L, b.L); c != 0 {
			return c
		}
		return cmp.Compare(a.R, b.R)
	})
	off := make([]float64, len(left))
	for i := range f.Bands {
		b := &f.Bands[i]
		b.Y0 = left[b.L].Y + off[b.L]
		off[b.L] += b.H
		if float64(b.Count) >= majorShare*float64(left[b.L].Count) {
			left[b.L].Major++
		}
		if float64(b.Count) >= majorShare*float64(right[b.R].Count) {
			right[b.R].Major++
		}
	}
	order := make([]int, len(f.Bands))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		x, y := &f.Bands[a], &f.Bands[b]
		if c := cmp.Compare(x.R, y.R); c != 0 {
			return c
		}
		return cmp.Compare(x.L, y.L)
	})
	off = make([]float64, len(right))
	for _, i := range order {
		b := &f.Bands[i]
		b.Y1 = right[b.R].Y + off[b.R]
		off[b.R] += b.H
	}
	f.Left, f.Right = left, right
	return f
}

// superLinks sums sub-cluster links into super-cluster pairs; each
// super-cluster is its own parent.
func superLinks(in FlowInput) (links []FlowLink, fromParent, toParent []int32) {
	sum := map[[2]int32]int{}
	maxF, maxT := int32(-1), int32(-1)
	for _, l := range in.Links {
		pf, pt := int32(-1), int32(-1)
		if l.From >= 0 && int(l.From) < len(in.FromParent) {
			pf = in.FromParent[l.From]
		}
		if l.To >= 0 && int(l.To) < len(in.ToParent) {
			pt = in.ToParent[l.To]
		}
		sum[[2]int32{pf, pt}] += l.Count
		maxF, maxT = max(maxF, pf), max(maxT, pt)
	}
	for k, c := range sum {
		links = append(links, FlowLink{From: k[0], To: k[1], Count: c})
	}
	slices.SortFunc(links, func(a, b FlowLink) int {
		if c := cmp.Compare(a.From, b.From); c != 0 {
			return c
		}
		return cmp.Compare(a.To, b.To)
	})
	fromParent = make([]int32, maxF+1)
	for i := range fromParent {
		fromParent[i] = int32(i)
	}
	toParent = make([]int32, maxT+1)
	for i := range toParent {
		toParent[i] = int32(i)
	}
	return links, fromParent, toParent
}

// BandTop is the top of band b at horizontal fraction t (0 at the left
// column, 1 at the right) of the curve the diagram draws: a smoothstep
// from Y0 to Y1 (the cubic Bézier with horizontal tangents at both ends,
// evaluated by its parameter).
func (b *FlowBand) BandTop(t float64) float64 {
	s := t * t * (3 - 2*t)
	return b.Y0 + (b.Y1-b.Y0)*s
}

// HitBand returns the band under the point at horizontal fraction t and
// height y, the thinnest when several overlap (it is drawn last), or -1.
func (f *FlowLayout) HitBand(t, y float64) int {
	if t < 0 || t > 1 {
		return -1
	}
	best := -1
	for i := range f.Bands {
		b := &f.Bands[i]
		top := b.BandTop(t)
		if y >= top && y <= top+math.Max(b.H, 1) && (best < 0 || b.H < f.Bands[best].H) {
			best = i
		}
	}
	return best
}

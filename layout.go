package deepercluster

// The 2D map of a clustering: a position for every image, laid out by
// similarity of its features, and the flow of images between the clusters of
// two versions. The server computes both; the layout goes to clients in
// Layout frames (then LayoutDelta frames while it is refined, package wire),
// the flow as JSON from GET /api/flow.

import (
	"cmp"
	"fmt"
	"slices"
)

// Layout is the 2D position of every image of one Assignment version.
type Layout struct {
	// Version is the Assignment version whose features were laid out.
	Version uint32
	// Final is false while the server is still refining the layout (more
	// LayoutDelta frames may follow).
	Final bool
	// X and Y are indexed by image id; both have one entry per image.
	X, Y []float32
}

// Bounds returns the bounding box of the layout's points; a layout without
// points has the box [0,1]x[0,1].
func (l *Layout) Bounds() (minX, minY, maxX, maxY float32) {
	xs, ys := l.X, l.Y
	if len(xs) == 0 {
		return 0, 0, 1, 1
	}
	minX, minY, maxX, maxY = xs[0], ys[0], xs[0], ys[0]
	for i := range xs {
		minX, maxX = min(minX, xs[i]), max(maxX, xs[i])
		minY, maxY = min(minY, ys[i]), max(maxY, ys[i])
	}
	if maxX == minX {
		maxX = minX + 1
	}
	if maxY == minY {
		maxY = minY + 1
	}
	return
}

// LayoutDelta moves some points of a Layout: the refinement of a layout sends
// only the points that moved by more than a quantisation step.
type LayoutDelta struct {
	// Version is the Assignment version of the layout it refines.
	Version uint32
	Final   bool
	// N is the number of images of the layout.
	N int
	// Index lists the moved images in increasing order; X and Y their new
	// positions, in the same order.
	Index []uint32
	X, Y  []float32
}

// Apply moves the points of l. It checks everything first and changes
// nothing when the delta does not fit l.
func (d *LayoutDelta) Apply(l *Layout) error {
	if l.Version != d.Version {
		return fmt.Errorf("apply layout delta: delta is for version %d, layout is version %d", d.Version, l.Version)
	}
	if len(l.X) != d.N || len(l.Y) != d.N {
		return fmt.Errorf("apply layout delta: delta has %d images, layout %d", d.N, len(l.X))
	}
	if len(d.X) != len(d.Index) || len(d.Y) != len(d.Index) {
		return fmt.Errorf("apply layout delta: %d indices but %d x and %d y", len(d.Index), len(d.X), len(d.Y))
	}
	prev := -1
	for j, ix := range d.Index {
		if int(ix) <= prev || int(ix) >= d.N {
			return fmt.Errorf("apply layout delta: index %d (image %d) out of order or outside [0,%d)", j, ix, d.N)
		}
		prev = int(ix)
	}
	for j, ix := range d.Index {
		l.X[ix], l.Y[ix] = d.X[j], d.Y[j]
	}
	l.Final = d.Final
	return nil
}

// LayoutProgress reports how far the server is with the layout of a version:
// it runs beside training, so it has its own frame rather than a Phase.
type LayoutProgress struct {
	// Stage is "knn" (the neighbour graph) or "layout" (the 2D embedding).
	Stage string
	// Done is the fraction of the stage done, in [0, 1].
	Done float64
}

// Flow is the contingency table between the clusters of two versions: how
// many images of each cluster of version From are in each cluster of version
// To. Clusters are sub-clusters (global ids of Assignment.Sub); each carries
// its super-cluster, so a client can also draw the flow of super-clusters.
type Flow struct {
	From uint32 `json:"from"`
	To   uint32 `json:"to"`
	// Images is the number of images of both versions.
	Images int `json:"images"`
	// FromParent[j] is the super-cluster of sub-cluster j of version From;
	// ToParent likewise for version To.
	FromParent []int32 `json:"from_parent"`
	ToParent   []int32 `json:"to_parent"`
	// Links lists the non-zero cells of the table, ordered by From then To.
	Links []FlowLink `json:"links"`
}

// FlowLink is one non-zero cell of a Flow.
type FlowLink struct {
	From  int32 `json:"from"`
	To    int32 `json:"to"`
	Count int   `json:"count"`
}

// ComputeFlow counts the images of every (sub-cluster of a, sub-cluster of b)
// pair. Both must describe the same images.
func ComputeFlow(a, b *Assignment) (Flow, error) {
	if len(a.Sub) != len(b.Sub) {
		return Flow{}, fmt.Errorf("flow %d->%d: %d images in version %d but %d in version %d",
			a.Version, b.Version, len(a.Sub), a.Version, len(b.Sub), b.Version)
	}
	nb := len(b.SubParent)
	counts := make(map[int64]int)
	for i, z := range a.Sub {
		counts[int64(z)*int64(nb)+int64(b.Sub[i])]++
	}
	f := Flow{From: a.Version, To: b.Version, Images: len(a.Sub),
		FromParent: append([]int32(nil), a.SubParent...), ToParent: append([]int32(nil), b.SubParent...)}
	f.Links = make([]FlowLink, 0, len(counts))
	for key, c := range counts {
		f.Links = append(f.Links, FlowLink{From: int32(key / int64(nb)), To: int32(key % int64(nb)), Count: c})
	}
	slices.SortFunc(f.Links, func(x, y FlowLink) int {
		if c := cmp.Compare(x.From, y.From); c != 0 {
			return c
		}
		return cmp.Compare(x.To, y.To)
	})
	return f, nil
}

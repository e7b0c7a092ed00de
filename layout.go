package deepercluster

// The 2D map of a clustering: a position for every image, laid out by
// similarity of its features, and the flow of images between the clusters of
// two versions. The server computes both; the layout goes to clients in
// Layout frames (then LayoutDelta frames while it is refined), the flow as
// JSON from GET /api/flow.

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// LayoutQuant is the number of steps per axis of a quantised position: a
// position travels as two uint16 inside the layout's bounding box, which is
// finer than any screen and halves a million-point frame (4 MB instead of 8).
const LayoutQuant = 65535

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
	return bounds(l.X, l.Y)
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

// ---- wire ----

func bounds(xs, ys []float32) (minX, minY, maxX, maxY float32) {
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

func quantise(v, lo, hi float32) uint16 {
	q := math.Round(float64(v-lo) / float64(hi-lo) * LayoutQuant)
	return uint16(max(0, min(LayoutQuant, q)))
}

func dequantise(q uint16, lo, hi float32) float32 {
	return lo + float32(q)/LayoutQuant*(hi-lo)
}

func appendBox(dst []byte, minX, minY, maxX, maxY float32) []byte {
	for _, v := range [4]float32{minX, minY, maxX, maxY} {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
	}
	return dst
}

func appendPoint(dst []byte, x, y, minX, minY, maxX, maxY float32) []byte {
	qx, qy := quantise(x, minX, maxX), quantise(y, minY, maxY)
	return append(dst, byte(qx), byte(qx>>8), byte(qy), byte(qy>>8))
}

// AppendLayout appends a Layout frame: flags (bit 0: final), the image count,
// the bounding box as four float32, then per image x and y as uint16 steps
// of the box (LayoutQuant per axis). Positions come back within half a step.
func AppendLayout(dst []byte, run uint32, l *Layout) []byte {
	dst = appendHeader(dst, KindLayout, run, l.Version)
	dst = append(dst, finalFlag(l.Final))
	dst = binary.AppendUvarint(dst, uint64(len(l.X)))
	minX, minY, maxX, maxY := l.Bounds()
	dst = appendBox(dst, minX, minY, maxX, maxY)
	for i := range l.X {
		dst = appendPoint(dst, l.X[i], l.Y[i], minX, minY, maxX, maxY)
	}
	return dst
}

// AppendLayoutDelta appends a LayoutDelta frame: flags, the image count, the
// number of moved images, their indices as gaps (uvarint), the bounding box
// of the moved points and their quantised positions.
func AppendLayoutDelta(dst []byte, run uint32, d *LayoutDelta) []byte {
	dst = appendHeader(dst, KindLayoutDelta, run, d.Version)
	dst = append(dst, finalFlag(d.Final))
	dst = binary.AppendUvarint(dst, uint64(d.N))
	dst = binary.AppendUvarint(dst, uint64(len(d.Index)))
	dst = appendIndexGaps(dst, d.Index)
	minX, minY, maxX, maxY := bounds(d.X, d.Y)
	dst = appendBox(dst, minX, minY, maxX, maxY)
	for j := range d.Index {
		dst = appendPoint(dst, d.X[j], d.Y[j], minX, minY, maxX, maxY)
	}
	return dst
}

// AppendLayoutProgress appends a LayoutProgress frame for a version.
func AppendLayoutProgress(dst []byte, run, version uint32, p LayoutProgress) []byte {
	dst = appendHeader(dst, KindLayoutProgress, run, version)
	dst = appendString(dst, p.Stage)
	return appendFloat(dst, p.Done)
}

func finalFlag(final bool) byte {
	if final {
		return 1
	}
	return 0
}

func (r *reader) f32(what string) float32 { return math.Float32frombits(r.u32(what)) }

func (r *reader) box() (minX, minY, maxX, maxY float32) {
	minX, minY, maxX, maxY = r.f32("box min x"), r.f32("box min y"), r.f32("box max x"), r.f32("box max y")
	for _, v := range [4]float32{minX, minY, maxX, maxY} {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			r.fail("layout box holds %v", v)
		}
	}
	if r.err == nil && (maxX <= minX || maxY <= minY) {
		r.fail("layout box [%v,%v]x[%v,%v] is empty", minX, maxX, minY, maxY)
	}
	return
}

func (r *reader) points(n int, minX, minY, maxX, maxY float32) (xs, ys []float32) {
	if r.err != nil || n == 0 {
		return nil, nil
	}
	if r.left() < 4*n {
		r.fail("layout points: %d points need %d bytes, %d left", n, 4*n, r.left())
		return nil, nil
	}
	xs, ys = make([]float32, n), make([]float32, n)
	b := r.b[r.off:]
	for i := range n {
		qx := uint16(b[4*i]) | uint16(b[4*i+1])<<8
		qy := uint16(b[4*i+2]) | uint16(b[4*i+3])<<8
		xs[i], ys[i] = dequantise(qx, minX, maxX), dequantise(qy, minY, maxY)
	}
	r.off += 4 * n
	return xs, ys
}

func (r *reader) flags() bool {
	f := r.byte1("flags")
	if f > 1 {
		r.fail("layout flags %#x: unknown bits", f)
	}
	return f == 1
}

func (r *reader) layout(version uint32) *Layout {
	l := &Layout{Version: version, Final: r.flags()}
	n := r.count("layout points", MaxWireImages, 4)
	minX, minY, maxX, maxY := r.box()
	l.X, l.Y = r.points(n, minX, minY, maxX, maxY)
	if r.err != nil {
		return nil
	}
	if l.X == nil {
		l.X, l.Y = []float32{}, []float32{}
	}
	return l
}

func (r *reader) layoutDelta(version uint32) *LayoutDelta {
	d := &LayoutDelta{Version: version, Final: r.flags()}
	d.N = r.count("images", MaxWireImages, 0)
	nm := r.count("moved images", MaxWireImages, 5)
	if r.err == nil && nm > d.N {
		r.fail("moved images: %d of %d", nm, d.N)
	}
	d.Index = r.indexGaps("moved image", nm, d.N)
	minX, minY, maxX, maxY := r.box()
	d.X, d.Y = r.points(nm, minX, minY, maxX, maxY)
	if r.err != nil {
		return nil
	}
	return d
}

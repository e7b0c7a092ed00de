package wire

import (
	"encoding/binary"
	"math"

	"github.com/deepercluster/deepercluster"
)

// LayoutQuant is the number of steps per axis of a quantised position: a
// position travels as two uint16 inside the layout's bounding box, which is
// finer than any screen and halves a million-point frame (4 MB instead of 8).
const LayoutQuant = 65535

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
func AppendLayout(dst []byte, run uint32, l *deepercluster.Layout) []byte {
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
func AppendLayoutDelta(dst []byte, run uint32, d *deepercluster.LayoutDelta) []byte {
	dst = appendHeader(dst, KindLayoutDelta, run, d.Version)
	dst = append(dst, finalFlag(d.Final))
	dst = binary.AppendUvarint(dst, uint64(d.N))
	dst = binary.AppendUvarint(dst, uint64(len(d.Index)))
	dst = appendIndexGaps(dst, d.Index)
	minX, minY, maxX, maxY := (&deepercluster.Layout{X: d.X, Y: d.Y}).Bounds()
	dst = appendBox(dst, minX, minY, maxX, maxY)
	for j := range d.Index {
		dst = appendPoint(dst, d.X[j], d.Y[j], minX, minY, maxX, maxY)
	}
	return dst
}

// AppendLayoutProgress appends a LayoutProgress frame for a version.
func AppendLayoutProgress(dst []byte, run, version uint32, p deepercluster.LayoutProgress) []byte {
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

func (r *reader) layout(version uint32) *deepercluster.Layout {
	l := &deepercluster.Layout{Version: version, Final: r.flags()}
	n := r.count("layout points", MaxImages, 4)
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

func (r *reader) layoutDelta(version uint32) *deepercluster.LayoutDelta {
	d := &deepercluster.LayoutDelta{Version: version, Final: r.flags()}
	d.N = r.count("images", MaxImages, 0)
	nm := r.count("moved images", MaxImages, 5)
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

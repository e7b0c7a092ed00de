package wire

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepercluster/deepercluster"
)

func TestLayoutRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name string
		l    deepercluster.Layout
	}{
		{"empty", deepercluster.Layout{Version: 1, X: []float32{}, Y: []float32{}}},
		{"one point", deepercluster.Layout{Version: 2, Final: true, X: []float32{3}, Y: []float32{-7}}},
		{"line", deepercluster.Layout{Version: 3, X: []float32{0, 0, 0}, Y: []float32{1, 2, 3}}},
		{"random", func() deepercluster.Layout {
			l := deepercluster.Layout{Version: 9, Final: true, X: make([]float32, 5000), Y: make([]float32, 5000)}
			for i := range l.X {
				l.X[i], l.Y[i] = float32(rng.NormFloat64()*30), float32(rng.NormFloat64()*4+100)
			}
			return l
		}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := AppendLayout(nil, 77, &c.l)
			if want := HeaderSize + 1 + 4*4 + 4*len(c.l.X); len(b) > want+5 {
				t.Fatalf("frame of %d points is %d bytes, want about %d", len(c.l.X), len(b), want)
			}
			f, err := DecodeFrame(b)
			if err != nil {
				t.Fatal(err)
			}
			if f.Kind != KindLayout || f.Run != 77 || f.Version != c.l.Version || f.Layout == nil {
				t.Fatalf("decoded %+v", f)
			}
			got := f.Layout
			if got.Final != c.l.Final || len(got.X) != len(c.l.X) || len(got.Y) != len(c.l.Y) {
				t.Fatalf("final %v, %d points; want %v, %d", got.Final, len(got.X), c.l.Final, len(c.l.X))
			}
			minX, minY, maxX, maxY := c.l.Bounds()
			stepX, stepY := (maxX-minX)/LayoutQuant, (maxY-minY)/LayoutQuant
			for i := range c.l.X {
				if d := math.Abs(float64(got.X[i] - c.l.X[i])); d > float64(stepX)*0.51+1e-6*float64(maxX-minX) {
					t.Fatalf("point %d: x %v came back as %v (step %v)", i, c.l.X[i], got.X[i], stepX)
				}
				if d := math.Abs(float64(got.Y[i] - c.l.Y[i])); d > float64(stepY)*0.51+1e-6*float64(maxY-minY) {
					t.Fatalf("point %d: y %v came back as %v (step %v)", i, c.l.Y[i], got.Y[i], stepY)
				}
			}
		})
	}
}

func TestLayoutDeltaRoundTripAndApply(t *testing.T) {
	l := deepercluster.Layout{Version: 4, X: []float32{0, 1, 2, 3}, Y: []float32{0, 1, 2, 3}}
	d := deepercluster.LayoutDelta{Version: 4, Final: true, N: 4, Index: []uint32{1, 3}, X: []float32{-5, 5}, Y: []float32{10, 20}}
	f, err := DecodeFrame(AppendLayoutDelta(nil, 1, &d))
	if err != nil {
		t.Fatal(err)
	}
	got := f.LayoutDelta
	if got == nil || got.N != 4 || len(got.Index) != 2 || got.Index[0] != 1 || got.Index[1] != 3 || !got.Final {
		t.Fatalf("decoded %+v", got)
	}
	if err := got.Apply(&l); err != nil {
		t.Fatal(err)
	}
	want := deepercluster.Layout{Version: 4, Final: true, X: []float32{0, -5, 2, 5}, Y: []float32{0, 10, 2, 20}}
	for i := range want.X {
		if math.Abs(float64(l.X[i]-want.X[i])) > 1e-3 || math.Abs(float64(l.Y[i]-want.Y[i])) > 1e-3 {
			t.Fatalf("point %d at (%v,%v), want (%v,%v)", i, l.X[i], l.Y[i], want.X[i], want.Y[i])
		}
	}
	if !l.Final {
		t.Fatal("a final delta leaves the layout not final")
	}

	bad := []struct {
		name string
		d    deepercluster.LayoutDelta
	}{
		{"other version", deepercluster.LayoutDelta{Version: 5, N: 4}},
		{"other size", deepercluster.LayoutDelta{Version: 4, N: 5}},
		{"out of order", deepercluster.LayoutDelta{Version: 4, N: 4, Index: []uint32{2, 1}, X: []float32{0, 0}, Y: []float32{0, 0}}},
		{"outside", deepercluster.LayoutDelta{Version: 4, N: 4, Index: []uint32{4}, X: []float32{0}, Y: []float32{0}}},
		{"short x", deepercluster.LayoutDelta{Version: 4, N: 4, Index: []uint32{1}, X: nil, Y: []float32{0}}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			before := deepercluster.Layout{Version: 4, X: []float32{0, 1, 2, 3}, Y: []float32{0, 1, 2, 3}}
			if err := c.d.Apply(&before); err == nil {
				t.Fatal("no error")
			}
			if before.X[1] != 1 || before.X[2] != 2 {
				t.Fatal("a refused delta changed the layout")
			}
		})
	}
}

func TestLayoutProgressRoundTrip(t *testing.T) {
	f, err := DecodeFrame(AppendLayoutProgress(nil, 3, 7, deepercluster.LayoutProgress{Stage: "layout", Done: 0.25}))
	if err != nil {
		t.Fatal(err)
	}
	if f.Kind != KindLayoutProgress || f.Version != 7 || f.LayoutProgress == nil || *f.LayoutProgress != (deepercluster.LayoutProgress{Stage: "layout", Done: 0.25}) {
		t.Fatalf("decoded %+v", f)
	}
}

func TestLayoutFramesRefuseForgeries(t *testing.T) {
	good := AppendLayout(nil, 1, &deepercluster.Layout{Version: 1, X: []float32{0, 1}, Y: []float32{0, 1}})
	withByte := func(at int, v byte) []byte {
		b := append([]byte(nil), good...)
		b[at] = v
		return b
	}
	cases := []struct {
		name string
		b    []byte
	}{
		{"truncated points", good[:len(good)-1]},
		{"trailing byte", append(append([]byte(nil), good...), 0)},
		{"unknown flag", withByte(HeaderSize, 2)},
		{"huge count", withByte(HeaderSize+1, 0x7f)},
		{"empty box", func() []byte {
			b := append([]byte(nil), good...)
			copy(b[HeaderSize+2+8:], b[HeaderSize+2:HeaderSize+2+8]) // max = min
			return b
		}()},
		{"delta index outside", AppendLayoutDelta(nil, 1, &deepercluster.LayoutDelta{Version: 1, N: 2, Index: []uint32{5}, X: []float32{0}, Y: []float32{0}})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := DecodeFrame(c.b); !errors.Is(err, ErrBadFrame) {
				t.Fatalf("got %v, want ErrBadFrame", err)
			}
		})
	}
}

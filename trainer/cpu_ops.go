package trainer

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"
	"sync"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/deepercluster/deepercluster/cluster"
	"github.com/deepercluster/deepercluster/internal/par"
)

// Our own gorgonia ops for the training graph's trunk. gorgonia stays the
// graph and autodiff engine (each op has SymDiff, built from more ops), but
// its Conv2d, BatchNorm and MaxPool2D spend most of a training step on
// NCHW im2col, a transpose per convolution, broadcasting BN's scale and bias
// to the whole tensor and allocating fresh outputs every step. These ops
// keep activations in NHWC (channels last), the layout in which a
// convolution is one cluster.Sgemm with no transpose (see infer.go), own
// their output buffers (allocated once, reused every step), fuse BN's
// affine and the ReLU that always follows it, and spread their loops over
// the cores. TestFastOpsMatchGorgonia holds a whole training step
// (losses, every gradient, the BN statistics) to the gorgonia-op graph.

// opBase is what every op here shares. Ops are hashed by identity: gorgonia
// merges nodes with equal hashes and children, and two of our ops with the
// same shapes still own different buffers.
type opBase struct{ name string }

func (o *opBase) ReturnsPtr() bool      { return true }
func (o *opBase) CallsExtern() bool     { return false }
func (o *opBase) OverwritesInput() int  { return -1 }
func (o *opBase) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%s-%p", o.name, o) }
func (o *opBase) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}
func (o *opBase) String() string { return o.name }

// fnType4 is the type of an op over n 4-d tensors returning one.
func fnType4(n int) hm.Type {
	t := G.TensorType{Dims: 4, Of: hm.TypeVariable('a')}
	ts := make([]hm.Type, n+1)
	for i := range ts {
		ts[i] = t
	}
	return hm.NewFnType(ts...)
}

// owned returns the op's output tensor of the given shape, made on first use.
func owned(t **tensor.Dense, shape ...int) *tensor.Dense {
	if *t == nil {
		*t = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(shape...))
	}
	return *t
}

func f32(v G.Value) []float32 { return v.Data().([]float32) }

// parallel runs fn over [0, n) split in contiguous parts, one per core.
func parallel(n int, fn func(lo, hi int)) {
	w := min(par.Threads(), n)
	if w <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := 1; i < w; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i*n/w, (i+1)*n/w)
		}()
	}
	fn(0, n/w)
	wg.Wait()
}

// ---- convolution: 3x3, stride 1, pad 1, NHWC, weight OIHW ----

// convOp convolves x (B, S, S, Cin) with w (Cout, Cin, 3, 3), the layout of
// the weight Param (checkpoints and the extraction path read it). Its im2col
// matrix is kept for the weight gradient of the same step.
type convOp struct {
	opBase
	b, side, cin, cout int
	needDX             bool // false when x is the graph's input
	wt, col            []float32
	sc                 *convScratch
	out                *tensor.Dense
}

// convScratch is memory the convolutions of one graph share: the tape
// machine runs one op at a time, and the input gradient's patch matrix is
// dead once scattered back.
type convScratch struct{ dcol []float32 }

func newConvOp(b, side, cin, cout int, needDX bool, sc *convScratch) *convOp {
	return &convOp{opBase: opBase{"conv3x3nhwc"}, b: b, side: side, cin: cin, cout: cout, needDX: needDX,
		wt: make([]float32, 9*cin*cout), col: make([]float32, b*side*side*9*cin), sc: sc}
}

func (o *convOp) Arity() int    { return 2 }
func (o *convOp) Type() hm.Type { return fnType4(2) }
func (o *convOp) rows() int     { return o.b * o.side * o.side }
func (o *convOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.b, o.side, o.side, o.cout}, nil
}

func (o *convOp) Do(vals ...G.Value) (G.Value, error) {
	x, w := f32(vals[0]), f32(vals[1])
	if len(x) != o.rows()*o.cin || len(w) != len(o.wt) {
		return nil, fmt.Errorf("%s: input %v, weight %v, want (%d,%d,%d,%d) and (%d,%d,3,3)", o.name, vals[0].Shape(), vals[1].Shape(), o.b, o.side, o.side, o.cin, o.cout, o.cin)
	}
	for co := range o.cout {
		for ci := range o.cin {
			for k := range 9 {
				o.wt[(k*o.cin+ci)*o.cout+co] = w[(co*o.cin+ci)*9+k]
			}
		}
	}
	ss, k := o.side*o.side, 9*o.cin
	parallel(o.b, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			im2colNHWC(o.col[i*ss*k:(i+1)*ss*k], x[i*ss*o.cin:(i+1)*ss*o.cin], o.side, o.cin)
		}
	})
	out := owned(&o.out, o.b, o.side, o.side, o.cout)
	cluster.Sgemm(false, false, o.rows(), o.cout, k, 1, o.col, k, o.wt, o.cout, 0, f32(out), o.cout)
	return out, nil
}

func (o *convOp) DiffWRT(int) []bool { return []bool{o.needDX, true} }

func (o *convOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dw, err := G.ApplyOp(&convDWOp{opBase: opBase{"conv3x3nhwc-dw"}, f: o}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	var dx *G.Node
	if o.needDX {
		if dx, err = G.ApplyOp(&convDXOp{opBase: opBase{"conv3x3nhwc-dx"}, f: o}, inputs[1], grad); err != nil {
			return nil, err
		}
	}
	return G.Nodes{dx, dw}, nil
}

// convDXOp is the input gradient of a convOp: (w, dy) -> dx, by the
// product dcol = dy * wt^T and the scatter of dcol back onto the image.
type convDXOp struct {
	opBase
	f   *convOp
	out *tensor.Dense
}

func (o *convDXOp) Arity() int    { return 2 }
func (o *convDXOp) Type() hm.Type { return fnType4(2) }
func (o *convDXOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.f.b, o.f.side, o.f.side, o.f.cin}, nil
}

func (o *convDXOp) Do(vals ...G.Value) (G.Value, error) {
	f := o.f
	dy := f32(vals[1])
	k := 9 * f.cin
	f.sc.dcol = grow(f.sc.dcol, f.rows()*k)
	dcol := f.sc.dcol
	cluster.Sgemm(false, true, f.rows(), k, f.cout, 1, dy, f.cout, f.wt, f.cout, 0, dcol, k)
	out := owned(&o.out, f.b, f.side, f.side, f.cin)
	dx := f32(out)
	ss := f.side * f.side
	parallel(f.b, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			col2imNHWC(dx[i*ss*f.cin:(i+1)*ss*f.cin], dcol[i*ss*k:(i+1)*ss*k], f.side, f.cin)
		}
	})
	return out, nil
}

// convDWOp is the weight gradient of a convOp: (x, dy) -> dw = col^T * dy,
// from the im2col matrix its forward left (x is an input only to order the
// op after the forward pass).
type convDWOp struct {
	opBase
	f   *convOp
	dwt []float32
	out *tensor.Dense
}

func (o *convDWOp) Arity() int    { return 2 }
func (o *convDWOp) Type() hm.Type { return fnType4(2) }
func (o *convDWOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.f.cout, o.f.cin, 3, 3}, nil
}

func (o *convDWOp) Do(vals ...G.Value) (G.Value, error) {
	f := o.f
	dy := f32(vals[1])
	k := 9 * f.cin
	if o.dwt == nil {
		o.dwt = make([]float32, k*f.cout)
	}
	convWeightGrad(o.dwt, f.col, dy, f.rows(), k, f.cout)
	out := owned(&o.out, f.cout, f.cin, 3, 3)
	dw := f32(out)
	for co := range f.cout {
		for ci := range f.cin {
			for kk := range 9 {
				dw[(co*f.cin+ci)*9+kk] = o.dwt[(kk*f.cin+ci)*f.cout+co]
			}
		}
	}
	return out, nil
}

// convWeightGrad sets dwt (k x cout) = col^T (k x rows) * dy (rows x cout).
// The sum runs over rows; for narrow layers cluster.Sgemm finds too few row
// blocks of dwt to use both cores, so the rows are split in halves summed
// separately.
func convWeightGrad(dwt, col, dy []float32, rows, k, cout int) {
	w := par.Threads()
	if w < 2 || rows < 1024 {
		cluster.Sgemm(true, false, k, cout, rows, 1, col, k, dy, cout, 0, dwt, cout)
		return
	}
	part := make([][]float32, w)
	parallel(w, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			r0, r1 := p*rows/w, (p+1)*rows/w
			dst := dwt
			if p > 0 {
				part[p] = make([]float32, len(dwt))
				dst = part[p]
			}
			cluster.Sgemm(true, false, k, cout, r1-r0, 1, col[r0*k:], k, dy[r0*cout:], cout, 0, dst, cout)
		}
	})
	for _, p := range part[1:] {
		for i, v := range p {
			dwt[i] += v
		}
	}
}

// col2imNHWC adds each row of the patch matrix back onto the pixels it was
// copied from: the adjoint of im2colNHWC (dx is overwritten).
func col2imNHWC(dx, col []float32, side, c int) {
	clear(dx)
	k := 9 * c
	for y := range side {
		for x := range side {
			row := col[(y*side+x)*k : (y*side+x+1)*k]
			for ky := range 3 {
				iy := y + ky - 1
				if iy < 0 || iy >= side {
					continue
				}
				for kx := range 3 {
					ix := x + kx - 1
					if ix < 0 || ix >= side {
						continue
					}
					dst := dx[(iy*side+ix)*c : (iy*side+ix+1)*c]
					src := row[(ky*3+kx)*c : (ky*3+kx+1)*c]
					for j := range dst {
						dst[j] += src[j]
					}
				}
			}
		}
	}
}

// ---- BatchNorm (training mode) with its affine and the ReLU after it ----

// bnReLUOp is relu(gamma*(x-mean)/sqrt(var+eps) + beta) over NHWC x with
// batch statistics, as gorgonia's BatchNorm in training mode followed by
// Rectify; it updates the running statistics (PyTorch's rule, as
// gorgonia: running = momentum*batch + (1-momentum)*running, the variance
// unbiased) in place in the trunk's Params.
type bnReLUOp struct {
	opBase
	shape          tensor.Shape
	c              int
	momentum, eps  float64
	runMean, runVr []float32
	xhat, invStd   []float32
	gamma          []float32
	out            *tensor.Dense
}

func newBNReLUOp(shape tensor.Shape, mean, vr []float32) *bnReLUOp {
	n := shape.TotalSize()
	c := shape[3]
	return &bnReLUOp{opBase: opBase{"bnrelu-nhwc"}, shape: shape.Clone(), c: c, momentum: 0.1, eps: bnEps,
		runMean: mean, runVr: vr, xhat: make([]float32, n), invStd: make([]float32, c)}
}

func (o *bnReLUOp) Arity() int    { return 3 }
func (o *bnReLUOp) Type() hm.Type { return fnType4(3) }
func (o *bnReLUOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return o.shape.Clone(), nil
}

// channelSums adds f(i) over the rows of NHWC data (row r covers
// [r*c, (r+1)*c)) into per-channel float64 sums, in parallel.
func channelSums(rows, c int, sums [][]float64, f func(lo, hi int, acc []float64)) {
	parts := make([][]float64, par.Threads())
	parallel(len(parts), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			acc := make([]float64, len(sums)*c)
			f(p*rows/len(parts), (p+1)*rows/len(parts), acc)
			parts[p] = acc
		}
	})
	for _, s := range sums {
		clear(s)
	}
	for _, acc := range parts {
		if acc == nil {
			continue
		}
		for j, s := range sums {
			for ch := range c {
				s[ch] += acc[j*c+ch]
			}
		}
	}
}

func (o *bnReLUOp) Do(vals ...G.Value) (G.Value, error) {
	x, gamma, beta := f32(vals[0]), f32(vals[1]), f32(vals[2])
	c := o.c
	if len(x) != len(o.xhat) || len(gamma) != c || len(beta) != c {
		return nil, fmt.Errorf("%s: input %v, scale %v, bias %v, want %v", o.name, vals[0].Shape(), vals[1].Shape(), vals[2].Shape(), o.shape)
	}
	o.gamma = gamma
	rows := len(x) / c
	n := float64(rows)
	mean := make([]float64, c)
	vr := make([]float64, c)
	channelSums(rows, c, [][]float64{mean}, func(lo, hi int, acc []float64) {
		for r := lo; r < hi; r++ {
			row := x[r*c : (r+1)*c]
			for j, v := range row {
				acc[j] += float64(v)
			}
		}
	})
	for j := range mean {
		mean[j] /= n
	}
	channelSums(rows, c, [][]float64{vr}, func(lo, hi int, acc []float64) {
		for r := lo; r < hi; r++ {
			row := x[r*c : (r+1)*c]
			for j, v := range row {
				d := float64(v) - mean[j]
				acc[j] += d * d
			}
		}
	})
	m := o.momentum
	scale := make([]float32, c)
	shift := make([]float32, c)
	mean32 := make([]float32, c)
	for j := range c {
		o.runMean[j] = float32(m*mean[j] + (1-m)*float64(o.runMean[j]))
		o.runVr[j] = float32(m*vr[j]/(n-1) + (1-m)*float64(o.runVr[j]))
		o.invStd[j] = float32(1 / math.Sqrt(vr[j]/n+o.eps))
		mean32[j] = float32(mean[j])
		scale[j] = gamma[j]
		shift[j] = beta[j]
	}
	out := owned(&o.out, o.shape...)
	y := f32(out)
	parallel(rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, hr, yr := x[r*c:(r+1)*c], o.xhat[r*c:(r+1)*c], y[r*c:(r+1)*c]
			for j := range xr {
				h := (xr[j] - mean32[j]) * o.invStd[j]
				hr[j] = h
				yr[j] = max(scale[j]*h+shift[j], 0)
			}
		}
	})
	return out, nil
}

func (o *bnReLUOp) DiffWRT(int) []bool { return []bool{true, true, true} }

func (o *bnReLUOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &bnReLUGradOp{opBase: opBase{"bnrelu-nhwc-grad"}, f: o}
	dx, err := G.ApplyOp(g, output, grad)
	if err != nil {
		return nil, err
	}
	dgamma, err := G.ApplyOp(&bnParamGradOp{opBase: opBase{"bnrelu-dgamma"}, g: g}, dx)
	if err != nil {
		return nil, err
	}
	dbeta, err := G.ApplyOp(&bnParamGradOp{opBase: opBase{"bnrelu-dbeta"}, g: g, beta: true}, dx)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dgamma, dbeta}, nil
}

// bnReLUGradOp is (y, dy) -> dx of a bnReLUOp; it also computes the scale
// and bias gradients, which its bnParamGradOps hand to the graph.
type bnReLUGradOp struct {
	opBase
	f             *bnReLUOp
	dgamma, dbeta *tensor.Dense // (1, C, 1, 1)
	out           *tensor.Dense
}

func (o *bnReLUGradOp) Arity() int    { return 2 }
func (o *bnReLUGradOp) Type() hm.Type { return fnType4(2) }
func (o *bnReLUGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return o.f.shape.Clone(), nil
}

func (o *bnReLUGradOp) Do(vals ...G.Value) (G.Value, error) {
	f := o.f
	y, dy := f32(vals[0]), f32(vals[1])
	c := f.c
	rows := len(y) / c
	dg := make([]float64, c)
	db := make([]float64, c)
	// the ReLU's mask is y > 0; dz = dy there
	channelSums(rows, c, [][]float64{dg, db}, func(lo, hi int, acc []float64) {
		ag, ab := acc[:c], acc[c:]
		for r := lo; r < hi; r++ {
			yr, dr, hr := y[r*c:(r+1)*c], dy[r*c:(r+1)*c], f.xhat[r*c:(r+1)*c]
			for j := range yr {
				if yr[j] > 0 {
					ag[j] += float64(dr[j] * hr[j])
					ab[j] += float64(dr[j])
				}
			}
		}
	})
	dgT := owned(&o.dgamma, 1, c, 1, 1)
	dbT := owned(&o.dbeta, 1, c, 1, 1)
	dgs, dbs := f32(dgT), f32(dbT)
	k := make([]float32, c)  // gamma * invStd
	mb := make([]float32, c) // mean of dz
	mg := make([]float32, c) // mean of dz*xhat
	n := float64(rows)
	for j := range c {
		dgs[j], dbs[j] = float32(dg[j]), float32(db[j])
		k[j] = f.gamma[j] * f.invStd[j]
		mb[j] = float32(db[j] / n)
		mg[j] = float32(dg[j] / n)
	}
	out := owned(&o.out, f.shape...)
	dx := f32(out)
	parallel(rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			yr, dr, hr, xr := y[r*c:(r+1)*c], dy[r*c:(r+1)*c], f.xhat[r*c:(r+1)*c], dx[r*c:(r+1)*c]
			for j := range yr {
				dz := float32(0)
				if yr[j] > 0 {
					dz = dr[j]
				}
				xr[j] = k[j] * (dz - mb[j] - hr[j]*mg[j])
			}
		}
	})
	return out, nil
}

// bnParamGradOp hands out the scale (or bias) gradient that its
// bnReLUGradOp computed; its input, that op's output, orders it after.
type bnParamGradOp struct {
	opBase
	g    *bnReLUGradOp
	beta bool
}

func (o *bnParamGradOp) Arity() int    { return 1 }
func (o *bnParamGradOp) Type() hm.Type { return fnType4(1) }
func (o *bnParamGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{1, o.g.f.c, 1, 1}, nil
}

func (o *bnParamGradOp) Do(...G.Value) (G.Value, error) {
	if o.beta {
		return o.g.dbeta, nil
	}
	return o.g.dgamma, nil
}

// ---- 2x2 max-pool, stride 2, NHWC ----

// maxPoolOp pools x (B, S, S, C) to (B, S/2, S/2, C) (floor, as gorgonia's
// MaxPool2D without padding) and remembers where each maximum came from.
type maxPoolOp struct {
	opBase
	b, side, c int
	arg        []int32
	out        *tensor.Dense
}

func newMaxPoolOp(b, side, c int) *maxPoolOp {
	h := side / 2
	return &maxPoolOp{opBase: opBase{"maxpool2-nhwc"}, b: b, side: side, c: c, arg: make([]int32, b*h*h*c)}
}

func (o *maxPoolOp) Arity() int    { return 1 }
func (o *maxPoolOp) Type() hm.Type { return fnType4(1) }
func (o *maxPoolOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.b, o.side / 2, o.side / 2, o.c}, nil
}

func (o *maxPoolOp) Do(vals ...G.Value) (G.Value, error) {
	x := f32(vals[0])
	s, c, h := o.side, o.c, o.side/2
	if len(x) != o.b*s*s*c {
		return nil, fmt.Errorf("%s: input %v, want (%d,%d,%d,%d)", o.name, vals[0].Shape(), o.b, s, s, c)
	}
	out := owned(&o.out, o.b, h, h, c)
	y := f32(out)
	parallel(o.b, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			for py := range h {
				for px := range h {
					ob := ((i*h+py)*h + px) * c
					i00 := ((i*s+2*py)*s + 2*px) * c
					i10 := i00 + s*c
					for j := range c {
						// first maximum in scan order, as gorgonia
						best, at := x[i00+j], i00+j
						if v := x[i00+c+j]; v > best {
							best, at = v, i00+c+j
						}
						if v := x[i10+j]; v > best {
							best, at = v, i10+j
						}
						if v := x[i10+c+j]; v > best {
							best, at = v, i10+c+j
						}
						y[ob+j] = best
						o.arg[ob+j] = int32(at)
					}
				}
			}
		}
	})
	return out, nil
}

func (o *maxPoolOp) DiffWRT(int) []bool { return []bool{true} }

func (o *maxPoolOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&maxPoolGradOp{opBase: opBase{"maxpool2-nhwc-grad"}, f: o}, output, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx}, nil
}

// maxPoolGradOp is (y, dy) -> dx of a maxPoolOp: each gradient goes to
// where its maximum came from.
type maxPoolGradOp struct {
	opBase
	f   *maxPoolOp
	out *tensor.Dense
}

func (o *maxPoolGradOp) Arity() int    { return 2 }
func (o *maxPoolGradOp) Type() hm.Type { return fnType4(2) }
func (o *maxPoolGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.f.b, o.f.side, o.f.side, o.f.c}, nil
}

func (o *maxPoolGradOp) Do(vals ...G.Value) (G.Value, error) {
	f := o.f
	dy := f32(vals[1])
	out := owned(&o.out, f.b, f.side, f.side, f.c)
	dx := f32(out)
	per := f.side * f.side * f.c
	pper := len(dy) / f.b
	parallel(f.b, func(lo, hi int) {
		clear(dx[lo*per : hi*per])
		for i := lo * pper; i < hi*pper; i++ {
			dx[f.arg[i]] += dy[i]
		}
	})
	return out, nil
}

// ---- layout change ----

// toNCHWOp turns NHWC (B, S, S, C) into NCHW (B, C, S, S), so that the
// flattened trunk output, and with it fc1's weight, are in gorgonia's (and
// the checkpoints') order. toNHWC is its gradient.
type toNCHWOp struct {
	opBase
	b, side, c int
	back       bool // NCHW -> NHWC instead
	out        *tensor.Dense
}

func (o *toNCHWOp) Arity() int    { return 1 }
func (o *toNCHWOp) Type() hm.Type { return fnType4(1) }
func (o *toNCHWOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if o.back {
		return tensor.Shape{o.b, o.side, o.side, o.c}, nil
	}
	return tensor.Shape{o.b, o.c, o.side, o.side}, nil
}

func (o *toNCHWOp) Do(vals ...G.Value) (G.Value, error) {
	x := f32(vals[0])
	s, _ := o.InferShape()
	out := owned(&o.out, s...)
	y := f32(out)
	ss := o.side * o.side
	per := ss * o.c
	for i := range o.b {
		for p := range ss {
			for ch := range o.c {
				if o.back {
					y[i*per+p*o.c+ch] = x[i*per+ch*ss+p]
				} else {
					y[i*per+ch*ss+p] = x[i*per+p*o.c+ch]
				}
			}
		}
	}
	return out, nil
}

func (o *toNCHWOp) DiffWRT(int) []bool { return []bool{true} }

func (o *toNCHWOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(&toNCHWOp{opBase: opBase{"nchw-to-nhwc"}, b: o.b, side: o.side, c: o.c, back: !o.back}, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx}, nil
}

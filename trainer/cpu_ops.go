package trainer

import (
	"context"
	"fmt"
	"hash"
	"hash/fnv"
	"math"

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
// convolution is one cluster.Sgemm with no transpose (see cpu_infer.go), own
// their output buffers (allocated once, reused every step), fuse BN's
// affine and the ReLU that always follows it (AVX-512 kernels in
// cpu_bn.go), and spread their work over the cores in pieces fixed by the
// shapes, so results do not depend on the core count (par.Chunks hands
// the pieces out, par.For splits a batch by image; an op has no context to
// cancel, being one layer of one step, and Train checks its own between
// steps). docs/PERFORMANCE.md
// has the profile these choices came from. TestFastOpsMatchGorgonia holds
// a whole training step (losses, every gradient, the BN statistics) to the
// gorgonia-op graph.

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

// ---- convolution: 3x3, stride 1, pad 1, NHWC, weight OIHW ----

// convChunkFloats sizes the chunks of a convolution's work: a chunk is the
// images whose full 3x3 patches would take about this many floats (1 MiB),
// so one image at 32 px in the first stage, a few in the deeper ones. A
// chunk is the unit a core takes at a time and the unit of the weight
// gradient's partial sums; it depends only on the shapes, never on the
// number of cores, so the sums (and a seed's weights) do not either.
const convChunkFloats = 1 << 18

// convOp convolves x (B, S, S, Cin) with w (Cout, Cin, 3, 3), the layout of
// the weight Param (checkpoints and the extraction path read it). The batch
// is cut into chunks of whole images; each core takes chunks in turn and,
// per image, builds its row-patch matrix (kxcolNHWC) in its own scratch and
// runs single-threaded products on it (its own cluster.Gemm), so the cores
// never wait on each other inside a layer and our loops never stack on the
// GEMM's own threads. Nothing patch-sized outlives an image: the gradient
// rebuilds the patches rather than keeping the batch's (150 MB at 64 px).
type convOp struct {
	opBase
	b, side, cin, cout int
	needDX             bool      // false when x is the graph's input
	per                int       // images per chunk
	wt                 []float32 // (9*cin, cout): row (ky*3+kx)*cin+ci
	wflip              []float32 // (9*cout, cin): the input gradient's weight
	sc                 *convScratch
	out                *tensor.Dense
}

// convScratch is memory the convolutions of one graph share: the tape
// machine runs one op at a time, so one patch matrix and one GEMM's
// buffers per worker serve every layer.
type convScratch struct{ w []*convWorker }

type convWorker struct {
	col  []float32
	gemm cluster.Gemm
}

// ensure makes room for the scratch of n workers; it is called before the
// workers start, so they never resize s.w.
func (s *convScratch) ensure(n int) {
	for len(s.w) < n {
		s.w = append(s.w, &convWorker{})
	}
}

func newConvOp(b, side, cin, cout int, needDX bool, sc *convScratch) *convOp {
	per := max(1, convChunkFloats/(side*side*9*cin))
	return &convOp{opBase: opBase{"conv3x3nhwc"}, b: b, side: side, cin: cin, cout: cout, needDX: needDX,
		per: min(per, b), wt: make([]float32, 9*cin*cout), wflip: make([]float32, 9*cin*cout), sc: sc}
}

func (o *convOp) Arity() int    { return 2 }
func (o *convOp) Type() hm.Type { return fnType4(2) }
func (o *convOp) rows() int     { return o.b * o.side * o.side }
func (o *convOp) chunks() int   { return (o.b + o.per - 1) / o.per }
func (o *convOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.b, o.side, o.side, o.cout}, nil
}

// chunk returns the images [i0, i1) of chunk c.
func (o *convOp) chunk(c int) (i0, i1 int) { return c * o.per, min(o.b, (c+1)*o.per) }

// rowPatches writes the row-patch matrix of image i of x (c channels)
// into worker w's scratch and returns it (see kxcolNHWC).
func (o *convOp) rowPatches(w int, x []float32, c, i int) []float32 {
	ss := o.side * o.side
	wk := o.sc.w[w]
	wk.col = grow(wk.col, (o.side+2)*o.side*3*c)
	kxcolNHWC(wk.col, x[i*ss*c:(i+1)*ss*c], o.side, c)
	return wk.col
}

// conv3 sets y (side*side x n) to the 3x3 convolution of one image's
// row-patch matrix col (of c channels) with w, (9c x n) in rows
// (ky*3+kx)*c+ci: one product per kernel row ky, with an inner dimension of
// 3c, each reading the patch matrix in place one image row further down.
// A full patch matrix (9c per pixel) would be three times the memory
// traffic for the same products.
func (o *convOp) conv3(g *cluster.Gemm, col []float32, c int, w []float32, n int, y []float32) {
	ss, k := o.side*o.side, 3*c
	for ky := range 3 {
		beta := float32(min(ky, 1))
		g.Sgemm(false, false, ss, n, k, 1, col[ky*o.side*k:], k, w[ky*k*n:(ky+1)*k*n], n, beta, y, n)
	}
}

func (o *convOp) Do(vals ...G.Value) (G.Value, error) {
	x, w := f32(vals[0]), f32(vals[1])
	if len(x) != o.rows()*o.cin || len(w) != len(o.wt) {
		return nil, fmt.Errorf("%s: input %v, weight %v, want (%d,%d,%d,%d) and (%d,%d,3,3)", o.name, vals[0].Shape(), vals[1].Shape(), o.b, o.side, o.side, o.cin, o.cout, o.cin)
	}
	for co := range o.cout {
		for ci := range o.cin {
			for k := range 9 {
				v := w[(co*o.cin+ci)*9+k]
				o.wt[(k*o.cin+ci)*o.cout+co] = v
				o.wflip[((8-k)*o.cout+co)*o.cin+ci] = v
			}
		}
	}
	out := owned(&o.out, o.b, o.side, o.side, o.cout)
	y := f32(out)
	ss := o.side * o.side
	threads := par.Threads()
	o.sc.ensure(min(threads, o.chunks()))
	par.Chunks(context.Background(), o.chunks(), threads, func(wk, c int) {
		i0, i1 := o.chunk(c)
		for i := i0; i < i1; i++ {
			col := o.rowPatches(wk, x, o.cin, i)
			o.conv3(&o.sc.w[wk].gemm, col, o.cin, o.wt, o.cout, y[i*ss*o.cout:(i+1)*ss*o.cout])
		}
	})
	return out, nil
}

func (o *convOp) DiffWRT(int) []bool { return []bool{o.needDX, true} }

// SymDiff gives one op that computes both gradients in one pass over the
// chunks (the patch matrix is rebuilt there rather than kept from the
// forward pass: rebuilding a chunk in cache is cheaper than keeping the
// whole batch's in memory). With an input gradient, that op returns dx and
// a convDWOp hands out dw after it.
func (o *convOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &convGradOp{opBase: opBase{"conv3x3nhwc-grad"}, f: o}
	out, err := G.ApplyOp(g, inputs[0], inputs[1], grad)
	if err != nil {
		return nil, err
	}
	if !o.needDX {
		return G.Nodes{nil, out}, nil
	}
	dw, err := G.ApplyOp(&convDWOp{opBase: opBase{"conv3x3nhwc-dw"}, g: g}, out)
	if err != nil {
		return nil, err
	}
	return G.Nodes{out, dw}, nil
}

// convGradOp is (x, w, dy) -> dx (or dw when the conv needs no dx). Per
// image of a chunk: the row patches of x and, one product per kernel row,
// its weight gradient patches^T*dy into the chunk's own partial sum; then
// (with dx) the input gradient as the convolution of dy with the flipped,
// transposed kernel (wflip): the row patches of dy, in the same buffer,
// and products that write the image's dx directly. (The product dy*wt^T
// followed by a scatter-add of its patches back onto the image did the
// same work with an inner dimension of only Cout, and the scatter alone
// cost a tenth of a step.) The partial sums are added in chunk order, so
// the result does not depend on which core ran what.
type convGradOp struct {
	opBase
	f      *convOp
	parts  []float32 // chunks x (9*cin*cout)
	dx, dw *tensor.Dense
}

func (o *convGradOp) Arity() int    { return 3 }
func (o *convGradOp) Type() hm.Type { return fnType4(3) }
func (o *convGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	f := o.f
	if f.needDX {
		return tensor.Shape{f.b, f.side, f.side, f.cin}, nil
	}
	return tensor.Shape{f.cout, f.cin, 3, 3}, nil
}

func (o *convGradOp) Do(vals ...G.Value) (G.Value, error) {
	f := o.f
	x, dy := f32(vals[0]), f32(vals[2])
	ss, k, cout := f.side*f.side, 9*f.cin, f.cout
	kc := k * cout
	o.parts = grow(o.parts, f.chunks()*kc)
	var dx []float32
	if f.needDX {
		dx = f32(owned(&o.dx, f.b, f.side, f.side, f.cin))
	}
	k3 := 3 * f.cin
	threads := par.Threads()
	f.sc.ensure(min(threads, f.chunks()))
	par.Chunks(context.Background(), f.chunks(), threads, func(wk, c int) {
		i0, i1 := f.chunk(c)
		g := &f.sc.w[wk].gemm
		part := o.parts[c*kc : (c+1)*kc]
		for i := i0; i < i1; i++ {
			col := f.rowPatches(wk, x, f.cin, i)
			dyi := dy[i*ss*cout : (i+1)*ss*cout]
			// rows ky*3c.. of the weight gradient: patches one row down
			beta := float32(min(i-i0, 1))
			for ky := range 3 {
				g.Sgemm(true, false, k3, cout, ss, 1, col[ky*f.side*k3:], k3, dyi, cout, beta, part[ky*k3*cout:(ky+1)*k3*cout], cout)
			}
			if dx == nil {
				continue
			}
			dcol := f.rowPatches(wk, dy, cout, i) // x's patches are spent: same buffer
			f.conv3(g, dcol, cout, f.wflip, f.cin, dx[i*ss*f.cin:(i+1)*ss*f.cin])
		}
	})
	dwT := owned(&o.dw, cout, f.cin, 3, 3)
	dw := f32(dwT)
	dwt := o.parts[:kc]
	// Add the chunks' partial sums into the first, in chunk order, each
	// core taking a slice of the weights (at 64 px the deepest layer has
	// 64 partial sums of 37k weights: too much for one core to add while
	// the other waits).
	const span = 4096
	par.Chunks(context.Background(), (kc+span-1)/span, par.Threads(), func(_, sp int) {
		lo, hi := sp*span, min(kc, (sp+1)*span)
		acc := dwt[lo:hi]
		for c := 1; c < f.chunks(); c++ {
			for i, v := range o.parts[c*kc+lo : c*kc+hi] {
				acc[i] += v
			}
		}
	})
	for co := range cout {
		for ci := range f.cin {
			for kk := range 9 {
				dw[(co*f.cin+ci)*9+kk] = dwt[(kk*f.cin+ci)*cout+co]
			}
		}
	}
	if dx == nil {
		return dwT, nil
	}
	return o.dx, nil
}

// convDWOp hands out the weight gradient its convGradOp computed; its
// input, that op's output, orders it after.
type convDWOp struct {
	opBase
	g *convGradOp
}

func (o *convDWOp) Arity() int    { return 1 }
func (o *convDWOp) Type() hm.Type { return fnType4(1) }
func (o *convDWOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.g.f.cout, o.g.f.cin, 3, 3}, nil
}

func (o *convDWOp) Do(...G.Value) (G.Value, error) { return o.g.dw, nil }

// kxcolNHWC writes the row-patch matrix of one NHWC image: (side+2)*side
// rows of 3c, row (y+1)*side+x holding the c channels of pixels (y, x-1),
// (y, x) and (y, x+1) (zero outside the image), and a row of zero pixels
// above and below the image (rows 0..side-1 and (side+1)*side..). Rows
// (y+ky)*side+x then hold what kernel row ky sees at output pixel (y, x),
// so the three kernel rows read the same matrix at three offsets.
func kxcolNHWC(col, in []float32, side, c int) {
	k := 3 * c
	clear(col[:side*k])
	clear(col[(side+1)*side*k : (side+2)*side*k])
	for y := range side {
		base := y * side * c
		for x := range side {
			row := col[((y+1)*side+x)*k : ((y+1)*side+x+1)*k]
			switch {
			case x > 0 && x < side-1:
				copy(row, in[base+(x-1)*c:base+(x+2)*c])
			case x == 0 && side > 1:
				clear(row[:c])
				copy(row[c:], in[base:base+2*c])
			case x == side-1 && side > 1:
				copy(row[:2*c], in[base+(x-1)*c:base+(x+1)*c])
				clear(row[2*c:])
			default: // side == 1
				clear(row)
				copy(row[c:2*c], in[base:base+c])
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
	// the last forward pass's input (the convolution's output, which
	// lives until the next step), batch mean and 1/std, and scale: what
	// the backward pass needs to recompute the normalised input
	x, mean, invStd []float32
	gamma, beta     []float32
	sums            blockSums
	out             *tensor.Dense
}

func newBNReLUOp(shape tensor.Shape, mean, vr []float32) *bnReLUOp {
	c := shape[3]
	return &bnReLUOp{opBase: opBase{"bnrelu-nhwc"}, shape: shape.Clone(), c: c, momentum: 0.1, eps: bnEps,
		runMean: mean, runVr: vr, mean: make([]float32, c), invStd: make([]float32, c)}
}

func (o *bnReLUOp) Arity() int    { return 3 }
func (o *bnReLUOp) Type() hm.Type { return fnType4(3) }
func (o *bnReLUOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return o.shape.Clone(), nil
}

// bnBlockRows is the rows (pixels) of one block of a BatchNorm reduction.
const bnBlockRows = 1024

// blockSums takes per-channel sums over the rows of NHWC data: each block
// of bnBlockRows rows is summed, in float64, into its own accumulator, on
// whichever core is free; the blocks are then added in block order. So the
// sums do not depend on the number of cores, and a seed trains to the same
// weights on any machine of the same architecture.
type blockSums struct{ acc []float64 }

// run sets each sums[s][ch] to the total of f's contributions: f(lo, hi,
// acc) adds rows [lo, hi) into acc, which holds len(sums) runs of c values.
func (b *blockSums) run(rows, c int, sums [][]float64, f func(lo, hi int, acc []float64)) {
	blocks := (rows + bnBlockRows - 1) / bnBlockRows
	per := len(sums) * c
	if cap(b.acc) < blocks*per {
		b.acc = make([]float64, blocks*per)
	}
	acc := b.acc[:blocks*per]
	clear(acc)
	par.Chunks(context.Background(), blocks, par.Threads(), func(_, blk int) {
		f(blk*bnBlockRows, min(rows, (blk+1)*bnBlockRows), acc[blk*per:(blk+1)*per])
	})
	for _, s := range sums {
		clear(s)
	}
	for blk := range blocks {
		a := acc[blk*per : (blk+1)*per]
		for j, s := range sums {
			for ch, v := range a[j*c : (j+1)*c] {
				s[ch] += v
			}
		}
	}
}

func (o *bnReLUOp) Do(vals ...G.Value) (G.Value, error) {
	x, gamma, beta := f32(vals[0]), f32(vals[1]), f32(vals[2])
	c := o.c
	if len(x) != o.shape.TotalSize() || len(gamma) != c || len(beta) != c {
		return nil, fmt.Errorf("%s: input %v, scale %v, bias %v, want %v", o.name, vals[0].Shape(), vals[1].Shape(), vals[2].Shape(), o.shape)
	}
	o.x, o.gamma, o.beta = x, gamma, beta
	rows := len(x) / c
	n := float64(rows)
	mean := make([]float64, c)
	vr := make([]float64, c)
	o.sums.run(rows, c, [][]float64{mean}, func(lo, hi int, acc []float64) {
		bnSum(x[lo*c:], hi-lo, c, acc)
	})
	for j := range mean {
		mean[j] /= n
	}
	o.sums.run(rows, c, [][]float64{vr}, func(lo, hi int, acc []float64) {
		bnSumSqDev(x[lo*c:], hi-lo, c, mean, acc)
	})
	m := o.momentum
	for j := range c {
		o.runMean[j] = float32(m*mean[j] + (1-m)*float64(o.runMean[j]))
		o.runVr[j] = float32(m*vr[j]/(n-1) + (1-m)*float64(o.runVr[j]))
		o.invStd[j] = float32(1 / math.Sqrt(vr[j]/n+o.eps))
		o.mean[j] = float32(mean[j])
	}
	out := owned(&o.out, o.shape...)
	y := f32(out)
	par.Chunks(context.Background(), (rows+bnBlockRows-1)/bnBlockRows, par.Threads(), func(_, blk int) {
		lo, hi := blk*bnBlockRows, min(rows, (blk+1)*bnBlockRows)
		bnFwd(x[lo*c:], y[lo*c:], hi-lo, c, o.mean, o.invStd, gamma, beta)
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
	sums          blockSums
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
	x := f.x
	c := f.c
	rows := len(y) / c
	dg := make([]float64, c)
	db := make([]float64, c)
	// the ReLU's mask is y > 0; dz = dy there
	o.sums.run(rows, c, [][]float64{dg, db}, func(lo, hi int, acc []float64) {
		bnBwdSums(x[lo*c:], y[lo*c:], dy[lo*c:], hi-lo, c, f.mean, f.invStd, f.gamma, f.beta, acc)
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
	par.Chunks(context.Background(), (rows+bnBlockRows-1)/bnBlockRows, par.Threads(), func(_, blk int) {
		lo, hi := blk*bnBlockRows, min(rows, (blk+1)*bnBlockRows)
		bnBwdDX(x[lo*c:], y[lo*c:], dy[lo*c:], dx[lo*c:], hi-lo, c, f.mean, f.invStd, f.gamma, f.beta, k, mb, mg)
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
// MaxPool2D without padding). The gradient goes to the first maximum of
// each window in scan order, as gorgonia's: with AVX-512 (C a multiple of
// 16, S even) the backward pass finds it again by comparing the window
// with its maximum (x is kept: the BN output, alive until the next step);
// otherwise the forward pass records where each maximum came from.
type maxPoolOp struct {
	opBase
	b, side, c int
	simd       bool
	x          []float32
	arg        []int32
	out        *tensor.Dense
}

func newMaxPoolOp(b, side, c int) *maxPoolOp {
	h := side / 2
	o := &maxPoolOp{opBase: opBase{"maxpool2-nhwc"}, b: b, side: side, c: c, simd: bnSIMD(c) && side%2 == 0}
	if !o.simd {
		o.arg = make([]int32, b*h*h*c)
	}
	return o
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
	o.x = x
	if o.simd && h > 0 {
		par.For(o.b, par.Threads(), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				for py := range h {
					r0 := (i*s + 2*py) * s * c
					poolRow512(&x[r0], &x[r0+s*c], &y[(i*h+py)*h*c], h, c)
				}
			}
		})
		return out, nil
	}
	par.For(o.b, par.Threads(), func(lo, hi int) {
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
	y, dy := f32(vals[0]), f32(vals[1])
	out := owned(&o.out, f.b, f.side, f.side, f.c)
	dx := f32(out)
	if f.simd && f.side > 1 {
		s, c, h := f.side, f.c, f.side/2
		x := f.x
		if len(y) != f.b*h*h*c || len(dy) != len(y) || len(x) != f.b*s*s*c {
			return nil, fmt.Errorf("%s: output %v, gradient %v for input (%d,%d,%d,%d)", o.name, vals[0].Shape(), vals[1].Shape(), f.b, s, s, c)
		}
		par.For(f.b, par.Threads(), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				for py := range h {
					r0, yr := (i*s+2*py)*s*c, (i*h+py)*h*c
					poolGradRow512(&x[r0], &x[r0+s*c], &y[yr], &dy[yr], &dx[r0], &dx[r0+s*c], h, c)
				}
			}
		})
		return out, nil
	}
	per := f.side * f.side * f.c
	pper := len(dy) / f.b
	par.For(f.b, par.Threads(), func(lo, hi int) {
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
	par.For(o.b, par.Threads(), func(lo, hi int) {
		for i := lo; i < hi; i++ {
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
	})
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

package trainer

import (
	"fmt"

	"github.com/deepercluster/deepercluster/cluster"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// subHeadOp is the sub-heads of the training graph: for each sample i of
// super-class s = ix[i], logits[i] = h[i] * W_s + b_s, with W stacked as
// (S, H*K) and b as (S, K). gorgonia's way, a gather of each sample's W_s
// (a copy of B*H*K weights), a batched product of B (1,H)x(H,K) matrices
// (one tiny GEMM call each) and the scatter back in the gradient, cost a
// tenth of a training step for 2*B*H*K multiply-adds; these loops do it in
// place. The tests' reference graph keeps gorgonia's version
// (gatherSubHeads, cpu_ref_test.go).
type subHeadOp struct {
	opBase
	b, h, k, s int
	ix         []int // the batch's super-classes, set before each run
	out        *tensor.Dense
}

func fnType2(n int) hm.Type {
	t := G.TensorType{Dims: 2, Of: hm.TypeVariable('a')}
	ts := make([]hm.Type, n+1)
	for i := range ts {
		ts[i] = t
	}
	return hm.NewFnType(ts...)
}

func (o *subHeadOp) Arity() int    { return 3 }
func (o *subHeadOp) Type() hm.Type { return fnType2(3) }
func (o *subHeadOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.b, o.k}, nil
}

func (o *subHeadOp) check(vals []G.Value) ([]float32, []float32, []float32, error) {
	h, w, wb := f32(vals[0]), f32(vals[1]), f32(vals[2])
	if len(h) != o.b*o.h || len(w) != o.s*o.h*o.k || len(wb) != o.s*o.k || len(o.ix) != o.b {
		return nil, nil, nil, fmt.Errorf("%s: inputs %v %v %v, %d targets; want (%d,%d) (%d,%d) (%d,%d)", o.name,
			vals[0].Shape(), vals[1].Shape(), vals[2].Shape(), len(o.ix), o.b, o.h, o.s, o.h*o.k, o.s, o.k)
	}
	for i, s := range o.ix {
		if s < 0 || s >= o.s {
			return nil, nil, nil, fmt.Errorf("%s: sample %d: super-class %d outside [0,%d)", o.name, i, s, o.s)
		}
	}
	return h, w, wb, nil
}

func (o *subHeadOp) Do(vals ...G.Value) (G.Value, error) {
	h, w, wb, err := o.check(vals)
	if err != nil {
		return nil, err
	}
	out := owned(&o.out, o.b, o.k)
	y := f32(out)
	clear(y)
	H, K := o.h, o.k
	for i, s := range o.ix {
		row := y[i*K : (i+1)*K]
		ws := w[s*H*K : (s+1)*H*K]
		for j, hv := range h[i*H : (i+1)*H] {
			for k, v := range ws[j*K : (j+1)*K] {
				row[k] += hv * v
			}
		}
		for k, v := range wb[s*K : (s+1)*K] {
			row[k] += v
		}
	}
	return out, nil
}

func (o *subHeadOp) DiffWRT(int) []bool { return []bool{true, true, true} }

func (o *subHeadOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &subHeadGradOp{opBase: opBase{"subheads-grad"}, f: o}
	dh, err := G.ApplyOp(g, inputs[0], inputs[1], grad)
	if err != nil {
		return nil, err
	}
	dw, err := G.ApplyOp(&subHeadParamOp{opBase: opBase{"subheads-dw"}, g: g}, dh)
	if err != nil {
		return nil, err
	}
	db, err := G.ApplyOp(&subHeadParamOp{opBase: opBase{"subheads-db"}, g: g, bias: true}, dh)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dh, dw, db}, nil
}

// subHeadGradOp is (h, W, dlogits) -> dh; it also computes dW and db, only
// in the rows of the super-classes present (the others get zero), which
// its subHeadParamOps hand to the graph. Samples are added in batch order.
type subHeadGradOp struct {
	opBase
	f             *subHeadOp
	dh, dw, dbias *tensor.Dense
}

func (o *subHeadGradOp) Arity() int    { return 3 }
func (o *subHeadGradOp) Type() hm.Type { return fnType2(3) }
func (o *subHeadGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.f.b, o.f.h}, nil
}

func (o *subHeadGradOp) Do(vals ...G.Value) (G.Value, error) {
	f := o.f
	h, w, dl := f32(vals[0]), f32(vals[1]), f32(vals[2])
	H, K := f.h, f.k
	dh := f32(owned(&o.dh, f.b, H))
	dw := f32(owned(&o.dw, f.s, H*K))
	db := f32(owned(&o.dbias, f.s, K))
	clear(dw)
	clear(db)
	for i, s := range f.ix {
		g := dl[i*K : (i+1)*K]
		ws, dws := w[s*H*K:(s+1)*H*K], dw[s*H*K:(s+1)*H*K]
		for j, hv := range h[i*H : (i+1)*H] {
			wr, dr := ws[j*K:(j+1)*K], dws[j*K:(j+1)*K]
			var acc float32
			for k, gv := range g {
				acc += wr[k] * gv
				dr[k] += hv * gv
			}
			dh[i*H+j] = acc
		}
		for k, gv := range g {
			db[s*K+k] += gv
		}
	}
	return o.dh, nil
}

// subHeadParamOp hands out dW (or db) of its subHeadGradOp; its input,
// that op's output, orders it after.
type subHeadParamOp struct {
	opBase
	g    *subHeadGradOp
	bias bool
}

func (o *subHeadParamOp) Arity() int    { return 1 }
func (o *subHeadParamOp) Type() hm.Type { return fnType2(1) }
func (o *subHeadParamOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if o.bias {
		return tensor.Shape{o.g.f.s, o.g.f.k}, nil
	}
	return tensor.Shape{o.g.f.s, o.g.f.h * o.g.f.k}, nil
}

func (o *subHeadParamOp) Do(...G.Value) (G.Value, error) {
	if o.bias {
		return o.g.dbias, nil
	}
	return o.g.dw, nil
}

// fcOp is a fully connected layer of the training graph, y = x*W + b
// (x (B, in), W (in, out), b (1, out)), with the ReLU after it fused when
// relu. gorgonia's MatMul, BroadcastAdd and Rectify allocated their
// outputs and gradients afresh every step (fc1's weight gradient is 2 MB
// at 64 px), and the fresh memory cost page faults, about 8% of a step in
// system time; these ops own their buffers and their GEMM's. The products
// are single-threaded: 2*B*in*out multiply-adds, a few hundredths of a
// step.
type fcOp struct {
	opBase
	b, in, out int
	relu       bool
	gemm       cluster.Gemm
	y          *tensor.Dense
}

func (o *fcOp) Arity() int    { return 3 }
func (o *fcOp) Type() hm.Type { return fnType2(3) }
func (o *fcOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.b, o.out}, nil
}

func (o *fcOp) Do(vals ...G.Value) (G.Value, error) {
	x, w, bias := f32(vals[0]), f32(vals[1]), f32(vals[2])
	if len(x) != o.b*o.in || len(w) != o.in*o.out || len(bias) != o.out {
		return nil, fmt.Errorf("%s: inputs %v %v %v, want (%d,%d) (%d,%d) (1,%d)", o.name, vals[0].Shape(), vals[1].Shape(), vals[2].Shape(), o.b, o.in, o.in, o.out, o.out)
	}
	out := owned(&o.y, o.b, o.out)
	y := f32(out)
	o.gemm.Sgemm(false, false, o.b, o.out, o.in, 1, x, o.in, w, o.out, 0, y, o.out)
	for i := range o.b {
		row := y[i*o.out : (i+1)*o.out]
		for j, v := range bias {
			row[j] += v
			if o.relu {
				row[j] = max(row[j], 0)
			}
		}
	}
	return out, nil
}

func (o *fcOp) DiffWRT(int) []bool { return []bool{true, true, true} }

func (o *fcOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	g := &fcGradOp{opBase: opBase{o.name + "-grad"}, f: o}
	dx, err := G.ApplyOp(g, inputs[0], inputs[1], output, grad)
	if err != nil {
		return nil, err
	}
	dw, err := G.ApplyOp(&fcParamOp{opBase: opBase{o.name + "-dw"}, g: g}, dx)
	if err != nil {
		return nil, err
	}
	db, err := G.ApplyOp(&fcParamOp{opBase: opBase{o.name + "-db"}, g: g, bias: true}, dx)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dw, db}, nil
}

// fcGradOp is (x, W, y, dy) -> dx of an fcOp, with dz = dy (masked by
// y > 0 under a ReLU): dx = dz*W^T, and it computes dW = x^T*dz and
// db = the column sums of dz, which its fcParamOps hand to the graph.
type fcGradOp struct {
	opBase
	f          *fcOp
	dz         []float32
	dx, dw, db *tensor.Dense
}

func (o *fcGradOp) Arity() int    { return 4 }
func (o *fcGradOp) Type() hm.Type { return fnType2(4) }
func (o *fcGradOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{o.f.b, o.f.in}, nil
}

func (o *fcGradOp) Do(vals ...G.Value) (G.Value, error) {
	f := o.f
	x, w, y, dy := f32(vals[0]), f32(vals[1]), f32(vals[2]), f32(vals[3])
	o.dz = grow(o.dz, f.b*f.out)
	for i, d := range dy[:f.b*f.out] {
		if f.relu {
			d = reluGrad(y[i], d)
		}
		o.dz[i] = d
	}
	dx := f32(owned(&o.dx, f.b, f.in))
	dw := f32(owned(&o.dw, f.in, f.out))
	db := f32(owned(&o.db, 1, f.out))
	f.gemm.Sgemm(false, true, f.b, f.in, f.out, 1, o.dz, f.out, w, f.out, 0, dx, f.in)
	f.gemm.Sgemm(true, false, f.in, f.out, f.b, 1, x, f.in, o.dz, f.out, 0, dw, f.out)
	clear(db)
	for i := range f.b {
		for j, d := range o.dz[i*f.out : (i+1)*f.out] {
			db[j] += d
		}
	}
	return o.dx, nil
}

// fcParamOp hands out dW (or db) of its fcGradOp; its input, that op's
// output, orders it after.
type fcParamOp struct {
	opBase
	g    *fcGradOp
	bias bool
}

func (o *fcParamOp) Arity() int    { return 1 }
func (o *fcParamOp) Type() hm.Type { return fnType2(1) }
func (o *fcParamOp) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if o.bias {
		return tensor.Shape{1, o.g.f.out}, nil
	}
	return tensor.Shape{o.g.f.in, o.g.f.out}, nil
}

func (o *fcParamOp) Do(...G.Value) (G.Value, error) {
	if o.bias {
		return o.g.db, nil
	}
	return o.g.dw, nil
}

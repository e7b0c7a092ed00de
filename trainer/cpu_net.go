package trainer

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/deepercluster/deepercluster/internal/par"
)

// This file and the other cpu_*.go files are the CPU backend: gorgonia
// graphs for training, with our own convolution, batch-norm and pooling
// kernels (cpu_ops.go) and a direct forward pass for extraction
// (cpu_infer.go). Nothing outside these files names their types: the
// training loop sees a Backend.

// param is one named tensor of the model's state. Weights are shared, by
// pointer, between the training and the extraction graphs.
type param struct {
	Name  string
	Shape []int
	Data  []float32
	t     *tensor.Dense
}

// newParam makes a param holding a copy of r.
func newParam(r TensorRecord) *param {
	t := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(r.Shape...))
	p := &param{Name: r.Name, Shape: append([]int(nil), r.Shape...), Data: t.Data().([]float32), t: t}
	copy(p.Data, r.Data)
	return p
}

// record copies p into the device-neutral form.
func (p *param) record() TensorRecord {
	return TensorRecord{Name: p.Name, Shape: append([]int(nil), p.Shape...), Data: append([]float32(nil), p.Data...)}
}

// source finds the tensor of st named p.Name and checks its shape.
func (p *param) source(st *State) (*TensorRecord, error) {
	t := st.Tensor(p.Name)
	if t == nil {
		return nil, fmt.Errorf("no tensor %q (saved by another model?)", p.Name)
	}
	if !sameShape(t.Shape, p.Shape) || len(t.Data) != len(p.Data) {
		return nil, fmt.Errorf("tensor %q has shape %v, the model wants %v", p.Name, t.Shape, p.Shape)
	}
	return t, nil
}

// loadAll copies the tensors of st into ps, all or none: every tensor is
// checked before the first is copied.
func loadAll(st *State, ps []*param) error {
	src := make([]*TensorRecord, len(ps))
	for i, p := range ps {
		t, err := p.source(st)
		if err != nil {
			return err
		}
		src[i] = t
	}
	for i, p := range ps {
		copy(p.Data, src[i].Data)
	}
	return nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// cpuHeads are the classifier heads: V with S outputs (S = 4m with rotation,
// m without) and the S sub-heads W_s with K outputs each, stored stacked as
// one (S, Hidden*K) weight and one (S, K) bias (see InitHeads).
type cpuHeads struct {
	S, K  int
	V, VB *param // (Hidden, S), (1, S); nil when S == 1
	W, WB *param // (S, Hidden*K), (S, K); nil when K == 1
}

// Params lists the head tensors that exist.
func (h *cpuHeads) Params() []*param {
	var ps []*param
	if h.V != nil {
		ps = append(ps, h.V, h.VB)
	}
	if h.W != nil {
		ps = append(ps, h.W, h.WB)
	}
	return ps
}

// newHeads makes heads of s x k from InitHeads's tensors.
func newHeads(s, k int, init []TensorRecord) *cpuHeads {
	h := &cpuHeads{S: s, K: k}
	for _, r := range init {
		p := newParam(r)
		switch r.Name {
		case "head/V":
			h.V = p
		case "head/V.bias":
			h.VB = p
		case "head/W":
			h.W = p
		case "head/W.bias":
			h.WB = p
		}
	}
	return h
}

// cpuTrunk is the convnet up to the feature layer: its weights and the running
// statistics of its BatchNorm layers.
type cpuTrunk struct {
	Cfg    ModelConfig
	Params []*param
	// BNMean and BNVar are the running statistics of each BN layer, in
	// order; they are copied into and out of gorgonia's BN ops.
	BNMean, BNVar []*param
}

// newTrunk makes a trunk of cfg holding the tensors of init (InitTrunk's).
func newTrunk(cfg ModelConfig, init []TensorRecord) (*cpuTrunk, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st := &State{Tensors: init}
	t := &cpuTrunk{Cfg: cfg}
	in := cfg.inChannels()
	ch := cfg.Width
	want := func(name string, shape ...int) *param {
		return newParam(newRecord(name, shape...))
	}
	for s := range cfg.Depth {
		for c := range cfg.ConvsPerStage {
			name := fmt.Sprintf("conv%d_%d", s+1, c+1)
			t.Params = append(t.Params, want(name+".weight", ch, in, 3, 3), want(name+".bn.weight", 1, ch, 1, 1), want(name+".bn.bias", 1, ch, 1, 1))
			t.BNMean = append(t.BNMean, want(name+".bn.running_mean", ch))
			t.BNVar = append(t.BNVar, want(name+".bn.running_var", ch))
			in = ch
		}
		ch *= 2
	}
	t.Params = append(t.Params, want("fc1.weight", cfg.flatSize(), cfg.Hidden), want("fc1.bias", 1, cfg.Hidden),
		want("fc2.weight", cfg.Hidden, cfg.Hidden), want("fc2.bias", 1, cfg.Hidden))
	if err := t.load(st); err != nil {
		return nil, err
	}
	return t, nil
}

// all lists the trunk's tensors: weights, then BN running statistics.
func (t *cpuTrunk) all() []*param {
	ps := append([]*param(nil), t.Params...)
	ps = append(ps, t.BNMean...)
	return append(ps, t.BNVar...)
}

// load copies the trunk's tensors from st, all or none.
func (t *cpuTrunk) load(st *State) error { return loadAll(st, t.all()) }

// sobelFilter is SobelWeights as a tensor.
func sobelFilter() *tensor.Dense {
	return tensor.New(tensor.WithShape(2, 3, 3, 3), tensor.WithBacking(SobelWeights()))
}

// graphTrunk is the trunk built into one gorgonia graph.
type graphTrunk struct {
	params []*G.Node // same order as Trunk.Params
	feat   *G.Node   // (B, Hidden), before ReLU
	// saveBN and loadBN copy BatchNorm running statistics from the graph's
	// ops into the trunk and back, for ops that keep their own (gorgonia's,
	// in the tests' reference graph); nil for ours, which update the
	// trunk's tensors in place.
	saveBN func()
	loadBN func() error
}

// syncStats copies the graph's BatchNorm statistics into the trunk, where
// the graph's ops keep their own.
func (gt *graphTrunk) syncStats() {
	if gt != nil && gt.saveBN != nil {
		gt.saveBN()
	}
}

// pushStats copies the trunk's BatchNorm statistics into the graph's ops,
// where they keep their own (NewTapeMachine resets them:
// docs/ENGINEERING-NOTES.md, gorgonia).
func (gt *graphTrunk) pushStats() error {
	if gt != nil && gt.loadBN != nil {
		return gt.loadBN()
	}
	return nil
}

// trainOps builds the parts of the training graph that depend on which ops
// compute it. A backend only ever runs fastOps (ours: NHWC, cpu_ops.go and
// cpu_heads.go); the tests build the same graph from gorgonia's own ops
// (refOps, cpu_ref_test.go) and hold ours to it.
type trainOps interface {
	// input makes the graph's input node for b images of side r, and the
	// tensor behind it.
	input(g *G.ExprGraph, b, r int) (*G.Node, *tensor.Dense)
	// load copies b NCHW images of side r from src into the input tensor's
	// memory dst.
	load(dst, src []float32, b, r int)
	// trunk adds t's trunk on input x.
	trunk(t *cpuTrunk, g *G.ExprGraph, x *G.Node) (*graphTrunk, error)
	// subHeads adds each sample's own sub-head logits W_s h + b_s, s the
	// sample's super-class in superIx, in O(B*H*K) rather than the
	// O(S*B*H*K) of a mask over all heads.
	subHeads(g *G.ExprGraph, hr, w, wb *G.Node, superIx *tensor.Dense, b, h, k, s int) (*G.Node, error)
}

// fastOps is trainOps with our ops: NHWC activations, buffers kept across
// steps, work split over the cores.
type fastOps struct{}

func (fastOps) input(g *G.ExprGraph, b, r int) (*G.Node, *tensor.Dense) {
	t := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(b, r, r, 3))
	return G.NewTensor(g, tensor.Float32, 4, G.WithShape(b, r, r, 3), G.WithName("x"), G.WithValue(t)), t
}

func (fastOps) load(dst, src []float32, b, r int) { toNHWC(dst, src, b, r) }

func (fastOps) trunk(t *cpuTrunk, g *G.ExprGraph, x *G.Node) (*graphTrunk, error) {
	return t.buildFast(g, x)
}

func (fastOps) subHeads(g *G.ExprGraph, hr, w, wb *G.Node, superIx *tensor.Dense, b, h, k, s int) (*G.Node, error) {
	op := &subHeadOp{opBase: opBase{"subheads"}, b: b, h: h, k: k, s: s, ix: superIx.Data().([]int)}
	y, err := G.ApplyOp(op, hr, w, wb)
	if err != nil {
		return nil, fmt.Errorf("sub-heads: %w", err)
	}
	return y, nil
}

// paramNode binds p's tensor to a node of g: both graphs see the same memory.
func paramNode(g *G.ExprGraph, p *param) *G.Node {
	return G.NewTensor(g, tensor.Float32, len(p.Shape), G.WithShape(p.Shape...), G.WithName(p.Name), G.WithValue(p.t))
}

// buildFast adds the trunk on NHWC input x (B, R, R, 3) to g with the ops
// of cpu_ops.go: the training graph's trunk. Same weights, same function as
// the tests' gorgonia-op trunk (cpu_ref_test.go); its BatchNorm layers
// update the trunk's running statistics in place, so it has no statistics
// to sync.
func (t *cpuTrunk) buildFast(g *G.ExprGraph, x *G.Node) (*graphTrunk, error) {
	gt := &graphTrunk{}
	for _, p := range t.Params {
		gt.params = append(gt.params, paramNode(g, p))
	}
	b, side, in := x.Shape()[0], t.Cfg.Resolution, 3
	sc := &convScratch{}
	var err error
	h := x
	if t.Cfg.Sobel {
		sob := G.NewTensor(g, tensor.Float32, 4, G.WithShape(2, 3, 3, 3), G.WithName("sobel"), G.WithValue(sobelFilter()))
		if h, err = G.ApplyOp(newConvOp(b, side, 3, 2, false, sc), h, sob); err != nil {
			return nil, fmt.Errorf("sobel: %w", err)
		}
		in = 2
	}
	pi, li := 0, 0
	ch := t.Cfg.Width
	for s := range t.Cfg.Depth {
		for range t.Cfg.ConvsPerStage {
			w, gam, bet := gt.params[pi], gt.params[pi+1], gt.params[pi+2]
			pi += 3
			// the first convolution needs no input gradient
			if h, err = G.ApplyOp(newConvOp(b, side, in, ch, h != x, sc), h, w); err != nil {
				return nil, fmt.Errorf("%s: %w", w.Name(), err)
			}
			bn := newBNReLUOp(tensor.Shape{b, side, side, ch}, t.BNMean[li].Data, t.BNVar[li].Data)
			li++
			if h, err = G.ApplyOp(bn, h, gam, bet); err != nil {
				return nil, fmt.Errorf("%s bn: %w", w.Name(), err)
			}
			in = ch
		}
		if h, err = G.ApplyOp(newMaxPoolOp(b, side, in), h); err != nil {
			return nil, fmt.Errorf("pool %d: %w", s+1, err)
		}
		side /= 2
		ch *= 2
	}
	if h, err = G.ApplyOp(&toNCHWOp{opBase: opBase{"nhwc-to-nchw"}, b: b, side: side, c: in}, h); err != nil {
		return nil, err
	}
	if h, err = G.Reshape(h, tensor.Shape{b, t.Cfg.flatSize()}); err != nil {
		return nil, fmt.Errorf("flatten: %w", err)
	}
	ps := gt.params[pi:]
	fc1 := &fcOp{opBase: opBase{"fc1"}, b: b, in: t.Cfg.flatSize(), out: t.Cfg.Hidden, relu: true}
	if h, err = G.ApplyOp(fc1, h, ps[0], ps[1]); err != nil {
		return nil, fmt.Errorf("fc1: %w", err)
	}
	fc2 := &fcOp{opBase: opBase{"fc2"}, b: b, in: t.Cfg.Hidden, out: t.Cfg.Hidden}
	if gt.feat, err = G.ApplyOp(fc2, h, ps[2], ps[3]); err != nil {
		return nil, fmt.Errorf("fc2: %w", err)
	}
	return gt, nil
}

// sgd is stochastic gradient descent with momentum and weight decay, in
// PyTorch's formulation: g += wd*w; buf = mom*buf + g; w -= lr*buf. We do
// not use gorgonia's Momentum solver: its L2 term multiplies the momentum
// buffer, not the weights, and its buffers cannot be saved.
type sgd struct {
	LR, Momentum, WeightDecay float64
	// Buf holds the momentum buffers by parameter name; they are part of
	// the checkpoint.
	Buf map[string][]float32
}

// update applies one step to p with gradient g.
func (o *sgd) update(p *param, g []float32) {
	buf := o.Buf[p.Name]
	if buf == nil {
		buf = make([]float32, len(p.Data))
		o.Buf[p.Name] = buf
	}
	lr, mom, wd := float32(o.LR), float32(o.Momentum), float32(o.WeightDecay)
	w := p.Data
	for i := range w {
		gi := g[i] + wd*w[i]
		buf[i] = mom*buf[i] + gi
		w[i] -= lr * buf[i]
	}
	// gorgonia accumulates into gradient buffers across runs; its solvers
	// zero them after use, and so must we.
	clear(g)
}

// dropHeadState forgets the momentum of the old heads.
func (o *sgd) dropHeadState() {
	for name := range o.Buf {
		if len(name) > 5 && name[:5] == "head/" {
			delete(o.Buf, name)
		}
	}
}

// cpuNet is the gorgonia implementation of Backend: one graph for training
// at batch B with the current heads (rebuilt only when the heads change),
// and feature extraction by a direct forward pass over the same weight
// tensors (cpu_infer.go). Unexported: a second backend implements Backend,
// it does not reuse these types.
type cpuNet struct {
	Trunk *cpuTrunk
	Heads *cpuHeads
	Opt   *sgd
	B     int
	// ops builds the training graph: fastOps, or the tests' reference.
	ops trainOps

	// training graph
	tg      *G.ExprGraph
	tm      G.VM
	tx      *G.Node
	txT     *tensor.Dense
	tTrunk  *graphTrunk
	learn   []*G.Node
	lparams []*param
	superIx *tensor.Dense // (B) int, for the gather of W_s
	superOH *tensor.Dense // (B, S) one-hot
	subOH   *tensor.Dense // (B, K) one-hot
	lossS   *G.Node
	lossZ   *G.Node
	logitS  *G.Node
	logitZ  *G.Node
	// Values copied out during the run: the tape machine reuses the memory
	// of intermediate nodes, so reading Node.Value afterwards is unsafe.
	vLossS, vLossZ, vLogitS, vLogitZ, vFeat G.Value

	// the direct extraction path (cpu_infer.go)
	inf inferer
}

// toNHWC copies b NCHW images of 3 x r x r into dst as NHWC.
func toNHWC(dst, src []float32, b, r int) {
	ss := r * r
	par.For(b, par.Threads(), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			img, out := src[i*3*ss:(i+1)*3*ss], dst[i*3*ss:(i+1)*3*ss]
			for c := range 3 {
				for p, v := range img[c*ss : (c+1)*ss] {
					out[p*3+c] = v
				}
			}
		}
	})
}

var _ Backend = (*cpuNet)(nil)

// NewCPUBackend makes the CPU backend: the trunk of InitTrunk(cfg.Model,
// cfg.Seed), no heads until the first SetHeads or LoadState.
func NewCPUBackend(cfg BackendConfig) (Backend, error) {
	init, err := InitTrunk(cfg.Model, cfg.Seed)
	if err != nil {
		return nil, err
	}
	trunk, err := newTrunk(cfg.Model, init)
	if err != nil {
		return nil, err
	}
	return newNet(trunk, cfg.Batch, &sgd{LR: cfg.LR, Momentum: cfg.Momentum, WeightDecay: cfg.WeightDecay})
}

// newNet makes the network; the training graph comes with the first
// SetHeads.
func newNet(trunk *cpuTrunk, batch int, opt *sgd) (*cpuNet, error) {
	if batch < 2 {
		return nil, fmt.Errorf("model: batch size must be at least 2 (BatchNorm), got %d", batch)
	}
	if opt.Buf == nil {
		opt.Buf = map[string][]float32{}
	}
	installFastBLAS()
	n := &cpuNet{Trunk: trunk, B: batch, Opt: opt, ops: fastOps{}}
	return n, nil
}

// BatchSize implements Backend.
func (n *cpuNet) BatchSize() int { return n.B }

// FeatureDim implements Backend.
func (n *cpuNet) FeatureDim() int { return n.Trunk.Cfg.Hidden }

// nll adds mean_b -sum_c onehot*logsoftmax(logits) to the graph: gorgonia
// has no cross-entropy op.
func nll(g *G.ExprGraph, logits *G.Node, onehot *tensor.Dense, name string) (*G.Node, error) {
	oh := G.NewTensor(g, tensor.Float32, 2, G.WithShape(onehot.Shape()...), G.WithName(name+"_onehot"), G.WithValue(onehot))
	ls, err := G.LogSoftMax(logits)
	if err != nil {
		return nil, err
	}
	p, err := G.HadamardProd(ls, oh)
	if err != nil {
		return nil, err
	}
	s, err := G.Sum(p)
	if err != nil {
		return nil, err
	}
	return G.Mul(s, G.NewConstant(float32(-1)/float32(onehot.Shape()[0])))
}

// SetHeads implements Backend.
func (n *cpuNet) SetHeads(s, k int, rng *rand.Rand) error {
	return n.setHeads(newHeads(s, k, InitHeads(s, k, n.FeatureDim(), rng)))
}

// setHeads rebuilds the training graph around the heads h and drops the old
// heads' momentum. This happens once per reclustering, never per step.
func (n *cpuNet) setHeads(h *cpuHeads) error {
	if h.V == nil && h.W == nil {
		return errors.New("model: heads with one super-class and one sub-class have nothing to learn")
	}
	n.tTrunk.syncStats()
	n.Heads = h
	n.Opt.dropHeadState()
	r, B, H := n.Trunk.Cfg.Resolution, n.B, n.Trunk.Cfg.Hidden
	g := G.NewGraph()
	n.tx, n.txT = n.ops.input(g, B, r)
	gt, err := n.ops.trunk(n.Trunk, g, n.tx)
	if err != nil {
		return fmt.Errorf("training graph: %w", err)
	}
	hr, err := G.Rectify(gt.feat)
	if err != nil {
		return err
	}
	learn := append([]*G.Node(nil), gt.params...)
	lparams := append([]*param(nil), n.Trunk.Params...)
	var cost *G.Node
	n.lossS, n.lossZ, n.logitS, n.logitZ = nil, nil, nil, nil
	if h.V != nil {
		v, vb := paramNode(g, h.V), paramNode(g, h.VB)
		learn = append(learn, v, vb)
		lparams = append(lparams, h.V, h.VB)
		y, err := G.Mul(hr, v)
		if err != nil {
			return fmt.Errorf("head V: %w", err)
		}
		if n.logitS, err = G.BroadcastAdd(y, vb, nil, []byte{0}); err != nil {
			return fmt.Errorf("head V: %w", err)
		}
		n.superOH = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(B, h.S))
		if n.lossS, err = nll(g, n.logitS, n.superOH, "super"); err != nil {
			return fmt.Errorf("super loss: %w", err)
		}
		cost = n.lossS
	}
	if h.W != nil {
		// The sub-heads: each sample's own W_s h + b_s, in O(B*H*K)
		// compute and memory, not O(S*B*H*K) as a mask over all heads
		// would be (subHeadOp).
		w, wb := paramNode(g, h.W), paramNode(g, h.WB)
		learn = append(learn, w, wb)
		lparams = append(lparams, h.W, h.WB)
		n.superIx = tensor.New(tensor.Of(tensor.Int), tensor.WithShape(B))
		if n.logitZ, err = n.ops.subHeads(g, hr, w, wb, n.superIx, B, H, h.K, h.S); err != nil {
			return err
		}
		n.subOH = tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(B, h.K))
		if n.lossZ, err = nll(g, n.logitZ, n.subOH, "sub"); err != nil {
			return fmt.Errorf("sub loss: %w", err)
		}
		if cost == nil {
			cost = n.lossZ
		} else if cost, err = G.Add(cost, n.lossZ); err != nil {
			return err
		}
	}
	n.vLossS, n.vLossZ, n.vLogitS, n.vLogitZ, n.vFeat = nil, nil, nil, nil, nil
	G.Read(gt.feat, &n.vFeat)
	if n.lossS != nil {
		G.Read(n.lossS, &n.vLossS)
		G.Read(n.logitS, &n.vLogitS)
	}
	if n.lossZ != nil {
		G.Read(n.lossZ, &n.vLossZ)
		G.Read(n.logitZ, &n.vLogitZ)
	}
	if _, err := G.Grad(cost, learn...); err != nil {
		return fmt.Errorf("gradient: %w", err)
	}
	if n.tm != nil {
		n.tm.Close()
	}
	n.tg, n.tTrunk, n.learn, n.lparams = g, gt, learn, lparams
	n.tm = G.NewTapeMachine(g, G.BindDualValues(learn...))
	// NewTapeMachine reset the BN statistics: put ours back.
	return gt.pushStats()
}

// Step implements Backend.
func (n *cpuNet) Step(b *Batch) (StepStats, error) {
	st, err := n.forwardBackward(b)
	if err != nil {
		return st, err
	}
	for i, node := range n.learn {
		gv, err := node.Grad()
		if err != nil {
			return st, fmt.Errorf("model: gradient of %s: %w", node.Name(), err)
		}
		n.Opt.update(n.lparams[i], gv.Data().([]float32))
	}
	return st, nil
}

// forwardBackward runs the training graph on b, leaving the gradients in the
// learnable nodes.
func (n *cpuNet) forwardBackward(b *Batch) (StepStats, error) {
	var st StepStats
	if n.tm == nil {
		return st, errors.New("model: no heads yet")
	}
	if len(b.X) != len(n.txT.Data().([]float32)) || len(b.Super) != n.B || len(b.Sub) != n.B {
		return st, fmt.Errorf("model: batch of %d values, %d super and %d sub targets, want batch %d", len(b.X), len(b.Super), len(b.Sub), n.B)
	}
	n.ops.load(n.txT.Data().([]float32), b.X, n.B, n.Trunk.Cfg.Resolution)
	h := n.Heads
	if n.superOH != nil {
		oh := n.superOH.Data().([]float32)
		clear(oh)
		for i, s := range b.Super {
			if s < 0 || s >= h.S {
				return st, fmt.Errorf("model: sample %d: super-class %d outside [0,%d)", i, s, h.S)
			}
			oh[i*h.S+s] = 1
		}
	}
	if n.subOH != nil {
		oh := n.subOH.Data().([]float32)
		clear(oh)
		ix := n.superIx.Data().([]int)
		for i, z := range b.Sub {
			if z < 0 || z >= h.K {
				return st, fmt.Errorf("model: sample %d: sub-class %d outside [0,%d)", i, z, h.K)
			}
			if b.Super[i] < 0 || b.Super[i] >= h.S {
				return st, fmt.Errorf("model: sample %d: super-class %d outside [0,%d)", i, b.Super[i], h.S)
			}
			oh[i*h.K+z] = 1
			ix[i] = b.Super[i]
		}
	}
	defer n.tm.Reset()
	if err := n.tm.RunAll(); err != nil {
		return st, fmt.Errorf("model: training step: %w", err)
	}
	if n.lossS != nil {
		st.LossSuper = scalar(n.vLossS)
		st.PrecSuper = precision(n.vLogitS, b.Super)
	}
	if n.lossZ != nil {
		st.LossSub = scalar(n.vLossZ)
		st.PrecSub = precision(n.vLogitZ, b.Sub)
	}
	if math.IsNaN(st.LossSuper) || math.IsNaN(st.LossSub) {
		return st, errors.New("model: loss is NaN (learning rate too high?)")
	}
	return st, nil
}

func scalar(v G.Value) float64 {
	switch v := v.Data().(type) {
	case float32:
		return float64(v)
	case []float32:
		return float64(v[0])
	}
	return math.NaN()
}

// precision is the top-1 precision of logits (B, C) against targets.
func precision(logits G.Value, target []int) float64 {
	d := logits.Data().([]float32)
	c := len(d) / len(target)
	hit := 0
	for i, t := range target {
		row := d[i*c : (i+1)*c]
		best := 0
		for j := range row {
			if row[j] > row[best] {
				best = j
			}
		}
		if best == t {
			hit++
		}
	}
	return float64(hit) / float64(len(target))
}

// Extract implements Backend with the direct forward pass of cpu_infer.go
// (eval mode, so each sample's features are independent of the others).
func (n *cpuNet) Extract(x []float32, cnt int, dst []float32) error {
	if err := checkExtract(n.Trunk.Cfg, x, cnt, dst); err != nil {
		return err
	}
	n.SyncBN()
	n.inf.extract(newInferPlan(n.Trunk), x, cnt, dst)
	return nil
}

// StageDims implements StageExtractor.
func (n *cpuNet) StageDims() []int { return newInferPlan(n.Trunk).stageDims() }

// ExtractStages implements StageExtractor with the direct forward pass of
// cpu_infer.go, as Extract.
func (n *cpuNet) ExtractStages(x []float32, cnt int, dst [][]float32) error {
	if per := 3 * n.Trunk.Cfg.Resolution * n.Trunk.Cfg.Resolution; cnt < 0 || len(x) < cnt*per {
		return fmt.Errorf("model: extract stages of %d images from %d values", cnt, len(x))
	}
	n.SyncBN()
	p := newInferPlan(n.Trunk)
	dims := p.stageDims()
	if len(dst) != len(dims) {
		return fmt.Errorf("model: extract stages: %d destinations for %d stages", len(dst), len(dims))
	}
	for i, d := range dims {
		if len(dst[i]) < cnt*d {
			return fmt.Errorf("model: extract stages: stage %d: %d values for %d images of %d", i+1, len(dst[i]), cnt, d)
		}
	}
	n.inf.stages(p, x, cnt, dst)
	return nil
}

// SyncBN copies the training graph's BN statistics into the trunk, so that
// a checkpoint sees them.
func (n *cpuNet) SyncBN() { n.tTrunk.syncStats() }

// LoadBN pushes the trunk's BN statistics into the training graph after a
// checkpoint was loaded.
func (n *cpuNet) LoadBN() error { return n.tTrunk.pushStats() }

// SetLR implements Backend.
func (n *cpuNet) SetLR(lr float64) { n.Opt.LR = lr }

// State implements Backend.
func (n *cpuNet) State() (*State, error) {
	n.SyncBN()
	st := &State{}
	for _, p := range n.Trunk.all() {
		st.Tensors = append(st.Tensors, p.record())
	}
	if h := n.Heads; h != nil {
		st.HeadS, st.HeadK = h.S, h.K
		for _, p := range h.Params() {
			st.Tensors = append(st.Tensors, p.record())
		}
	}
	for _, p := range n.lparams {
		if buf := n.Opt.Buf[p.Name]; buf != nil {
			st.Tensors = append(st.Tensors, TensorRecord{Name: momentumPrefix + p.Name, Shape: append([]int(nil), p.Shape...), Data: append([]float32(nil), buf...)})
		}
	}
	return st, nil
}

// momentumPrefix names the SGD momentum of a tensor in a State.
const momentumPrefix = "momentum/"

// LoadState implements Backend.
func (n *cpuNet) LoadState(st *State) error {
	var h *cpuHeads
	if st.HeadS > 0 || st.HeadK > 0 {
		// A throwaway generator: every value is overwritten from st.
		h = newHeads(st.HeadS, st.HeadK, InitHeads(st.HeadS, st.HeadK, n.FeatureDim(), rand.New(rand.NewPCG(0, 0))))
		if err := loadAll(st, h.Params()); err != nil {
			return err
		}
	}
	if err := n.Trunk.load(st); err != nil {
		return err
	}
	if h == nil {
		return n.LoadBN()
	}
	if err := n.setHeads(h); err != nil {
		return err
	}
	if err := n.LoadBN(); err != nil {
		return err
	}
	for _, p := range n.lparams {
		rec := st.Tensor(momentumPrefix + p.Name)
		if rec == nil {
			continue // no step taken since the heads were made
		}
		if len(rec.Data) != len(p.Data) {
			return fmt.Errorf("tensor %q has %d values, the model wants %d", rec.Name, len(rec.Data), len(p.Data))
		}
		n.Opt.Buf[p.Name] = append([]float32(nil), rec.Data...)
	}
	return nil
}

// Close implements Backend.
func (n *cpuNet) Close() error {
	if n.tm != nil {
		n.tm.Close()
	}
	return nil
}

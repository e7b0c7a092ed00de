package gpu

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/gpu/device"
	"github.com/deepercluster/deepercluster/trainer"
)

// bnMomentum and bnEps are the trunk's BatchNorm constants, the CPU
// backend's (PyTorch's defaults).
const (
	bnMomentum = 0.1
	bnEps      = 1e-5
)

// momentumPrefix names the SGD momentum of a tensor in a State.
const momentumPrefix = "momentum/"

// param is one named tensor on the device: its value and, for a learnable
// one, its gradient and momentum buffer. hasMom says whether the momentum
// exists in the CPU backend's sense (a step has touched it), which decides
// whether State exports it.
type param struct {
	name   string
	shape  []int
	n      int
	w      device.Buffer
	g, m   device.Buffer // nil for the BN running statistics
	hasMom bool
}

// convLayer is one 3x3 convolution with its BatchNorm and ReLU, and the
// 2x2 max-pool after it when it ends a stage.
type convLayer struct {
	cin, cout, side int
	pool            bool
	w, gamma, beta  *param
	rmean, rvar     *param
	// activations of the last training (or extraction) pass
	conv, act   device.Buffer // (B, cout, side, side): before BN, after BN+ReLU
	pooled, arg device.Buffer // (B, cout, side/2, side/2) when pool
	// batch statistics and backward coefficients
	mean, invstd, coef device.Buffer
}

// out is the layer's output as the next layer sees it.
func (l *convLayer) out() device.Buffer {
	if l.pool {
		return l.pooled
	}
	return l.act
}

// heads are the classifier heads on the device (see trainer.InitHeads).
type heads struct {
	s, k         int
	v, vb, w, wb *param // v, vb nil when s == 1; w, wb nil when k == 1
}

func (h *heads) params() []*param {
	var ps []*param
	if h.v != nil {
		ps = append(ps, h.v, h.vb)
	}
	if h.w != nil {
		ps = append(ps, h.w, h.wb)
	}
	return ps
}

// Backend is trainer.Backend on a device.Device: the same network, the same
// initial weights for a seed, the same State (names, shapes, momentum,
// running statistics) as the CPU backend, so checkpoints move between
// them. Every buffer is allocated once, for the training batch; Extract
// runs in chunks of that batch.
type Backend struct {
	dev  device.Device
	o    ops
	cfg  trainer.ModelConfig
	b    int
	lr   float64
	mom  float64
	wd   float64
	fcIn int // flattened size of the last stage's output

	layers []*convLayer
	fc     [4]*param // fc1.weight, fc1.bias, fc2.weight, fc2.bias
	hd     *heads

	x, sobelW, sobelOut device.Buffer
	f1, feat, hr        device.Buffer // (B, hidden)
	dA, dB              device.Buffer // ping-pong gradients, the largest activation
	dh, df              device.Buffer // (B, hidden)
	bnPart, dwPart      device.Buffer
	// heads' buffers, made by setHeads
	super, sub               device.Buffer // (B) int32
	superOrder, superStart   device.Buffer // the batch grouped by super-class (B), (S+1) int32
	hostOrder, hostStart     []int32
	logS, dlS, logZ, dlZ     device.Buffer
	lossS, lossZ, hitS, hitZ device.Buffer
	hostLoss                 []float32
	hostHit                  []int32
	allocated                []device.Buffer
	headBufs                 []device.Buffer

	// lrBuf holds the learning rate for the sgd kernel; lrOnDev is the
	// value it holds (NaN before the first step).
	lrBuf   device.Buffer
	lrOnDev float64

	// graph replay (Options.PlainLaunches off, device.Graphs offered):
	// the launches of a step recorded once for the current heads and
	// replayed by every step after.
	graphs       device.Graphs
	graph        device.Graph
	extractGraph device.Graph // a full batch's extraction, never invalidated
	// ownDev: Close closes dev (Options.CloseDevice)
	ownDev bool
}

// Options are the GPU backend's choices beyond trainer.BackendConfig.
type Options struct {
	// PlainLaunches issues every kernel of every step one by one even
	// where the device can record a step once and replay it
	// (device.Graphs): the reference the graph path is tested against.
	PlainLaunches bool
	// CloseDevice hands the device to the backend: its Close (or a failed
	// NewBackendWith) closes the device too. For a trainer.NewBackendFunc
	// that opens a device per backend.
	CloseDevice bool
}

var _ trainer.Backend = (*Backend)(nil)

// NewBackend makes the GPU backend on dev: the trunk of
// trainer.InitTrunk(cfg.Model, cfg.Seed), so a seed gives the CPU
// backend's network, and no heads until the first SetHeads or LoadState.
// The backend does not own dev: Close frees its buffers, not the device.
func NewBackend(dev device.Device, cfg trainer.BackendConfig) (trainer.Backend, error) {
	return NewBackendWith(dev, cfg, Options{})
}

// BackendFunc is the trainer.NewBackendFunc of the GPU backend: each
// backend it makes opens its own device with open (device.OpenCUDA or
// device.OpenOpenCL) and closes it with itself, so trainer.Config's
// NewBackend can choose the GPU without knowing about devices.
func BackendFunc(open func() (device.Device, error)) trainer.NewBackendFunc {
	return func(cfg trainer.BackendConfig) (trainer.Backend, error) {
		dev, err := open()
		if err != nil {
			return nil, fmt.Errorf("gpu: %w", err)
		}
		return NewBackendWith(dev, cfg, Options{CloseDevice: true})
	}
}

// NewBackendWith is NewBackend with Options. Unless opt.PlainLaunches, a
// device that offers device.Graphs (a CUDA graph on CUDA, a recorded
// launch list on OpenCL) gets each training step as one replay: a small
// network's step is launch-bound on a GPU.
func NewBackendWith(dev device.Device, cfg trainer.BackendConfig, opt Options) (*Backend, error) {
	if cfg.Batch < 2 {
		return nil, fmt.Errorf("gpu: batch size must be at least 2 (BatchNorm), got %d", cfg.Batch)
	}
	init, err := trainer.InitTrunk(cfg.Model, cfg.Seed)
	if err != nil {
		return nil, fmt.Errorf("gpu: %w", err)
	}
	be := &Backend{dev: dev, o: ops{dev}, cfg: cfg.Model, b: cfg.Batch, lr: cfg.LR, mom: cfg.Momentum, wd: cfg.WeightDecay,
		lrOnDev: math.NaN()}
	be.ownDev = opt.CloseDevice
	if g, ok := dev.(device.Graphs); ok && !opt.PlainLaunches {
		be.graphs = g
	}
	if err := be.build(init); err != nil {
		be.Close()
		return nil, err
	}
	return be, nil
}

func (be *Backend) alloc(floats int) (device.Buffer, error) {
	buf, err := be.dev.Alloc(4 * max(floats, 1))
	if err != nil {
		return nil, fmt.Errorf("gpu: alloc %d floats: %w", floats, err)
	}
	be.allocated = append(be.allocated, buf)
	return buf, nil
}

// newParam puts r on the device; learnable tensors get a gradient and a
// zeroed momentum buffer.
func (be *Backend) newParam(r trainer.TensorRecord, learnable bool, owned *[]device.Buffer) (*param, error) {
	p := &param{name: r.Name, shape: slices.Clone(r.Shape), n: len(r.Data)}
	mk := func() (device.Buffer, error) {
		buf, err := be.dev.Alloc(4 * max(p.n, 1))
		if err != nil {
			return nil, fmt.Errorf("gpu: alloc %s: %w", r.Name, err)
		}
		*owned = append(*owned, buf)
		return buf, nil
	}
	var err error
	if p.w, err = mk(); err != nil {
		return nil, err
	}
	if err := be.dev.WriteF32(p.w, 0, r.Data); err != nil {
		return nil, fmt.Errorf("gpu: upload %s: %w", r.Name, err)
	}
	if learnable {
		if p.g, err = mk(); err != nil {
			return nil, err
		}
		if p.m, err = mk(); err != nil {
			return nil, err
		}
		if err := be.o.fill(p.m, p.n, 0); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// build lays the trunk out on the device from InitTrunk's records.
func (be *Backend) build(init []trainer.TensorRecord) error {
	st := &trainer.State{Tensors: init}
	get := func(name string) (trainer.TensorRecord, error) {
		r := st.Tensor(name)
		if r == nil {
			return trainer.TensorRecord{}, fmt.Errorf("gpu: InitTrunk made no %s", name)
		}
		return *r, nil
	}
	cfg, B := be.cfg, be.b
	side, in, ch := cfg.Resolution, 3, cfg.Width
	if cfg.Sobel {
		in = 2
	}
	maxAct := B * 3 * side * side
	bnPart, dwPart := 0, 0
	for s := range cfg.Depth {
		for c := range cfg.ConvsPerStage {
			name := fmt.Sprintf("conv%d_%d", s+1, c+1)
			l := &convLayer{cin: in, cout: ch, side: side, pool: c == cfg.ConvsPerStage-1}
			for _, spec := range []struct {
				dst   **param
				name  string
				learn bool
			}{{&l.w, ".weight", true}, {&l.gamma, ".bn.weight", true}, {&l.beta, ".bn.bias", true},
				{&l.rmean, ".bn.running_mean", false}, {&l.rvar, ".bn.running_var", false}} {
				r, err := get(name + spec.name)
				if err != nil {
					return err
				}
				if *spec.dst, err = be.newParam(r, spec.learn, &be.allocated); err != nil {
					return err
				}
			}
			n := B * ch * side * side
			maxAct = max(maxAct, n)
			var err error
			for _, b := range []*device.Buffer{&l.conv, &l.act} {
				if *b, err = be.alloc(n); err != nil {
					return err
				}
			}
			if l.pool {
				h := side / 2
				if l.pooled, err = be.alloc(B * ch * h * h); err != nil {
					return err
				}
				if l.arg, err = be.alloc(B * ch * h * h); err != nil {
					return err
				}
			}
			if l.mean, err = be.alloc(ch); err != nil {
				return err
			}
			if l.invstd, err = be.alloc(ch); err != nil {
				return err
			}
			if l.coef, err = be.alloc(3 * ch); err != nil {
				return err
			}
			bnPart = max(bnPart, 2*ch*bnParts(B*side*side))
			dwPart = max(dwPart, convDWScratch(B, in, ch, side))
			be.layers = append(be.layers, l)
			in = ch
		}
		side /= 2
		ch *= 2
	}
	be.fcIn = in * side * side
	for i, name := range []string{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"} {
		r, err := get(name)
		if err != nil {
			return err
		}
		if be.fc[i], err = be.newParam(r, true, &be.allocated); err != nil {
			return err
		}
	}
	H := cfg.Hidden
	var err error
	bufs := []struct {
		dst *device.Buffer
		n   int
	}{{&be.x, B * 3 * cfg.Resolution * cfg.Resolution}, {&be.f1, B * H}, {&be.feat, B * H}, {&be.hr, B * H},
		{&be.dA, maxAct}, {&be.dB, maxAct}, {&be.dh, B * H}, {&be.df, B * H}, {&be.bnPart, bnPart}, {&be.dwPart, dwPart},
		{&be.lrBuf, 1}}
	if cfg.Sobel {
		bufs = append(bufs, struct {
			dst *device.Buffer
			n   int
		}{&be.sobelOut, B * 2 * cfg.Resolution * cfg.Resolution})
	}
	for _, b := range bufs {
		if *b.dst, err = be.alloc(b.n); err != nil {
			return err
		}
	}
	if cfg.Sobel {
		if be.sobelW, err = be.alloc(2 * 3 * 9); err != nil {
			return err
		}
		if err := be.dev.WriteF32(be.sobelW, 0, trainer.SobelWeights()); err != nil {
			return fmt.Errorf("gpu: upload Sobel weights: %w", err)
		}
	}
	return nil
}

// BatchSize implements trainer.Backend.
func (be *Backend) BatchSize() int { return be.b }

// FeatureDim implements trainer.Backend.
func (be *Backend) FeatureDim() int { return be.cfg.Hidden }

// SetLR implements trainer.Backend.
func (be *Backend) SetLR(lr float64) { be.lr = lr }

// SetHeads implements trainer.Backend: fresh heads drawn by
// trainer.InitHeads from rng (the CPU backend's draws), no head momentum.
func (be *Backend) SetHeads(s, k int, rng *rand.Rand) error {
	return be.setHeads(s, k, trainer.InitHeads(s, k, be.cfg.Hidden, rng))
}

// setHeads replaces the heads by the tensors recs (InitHeads's names and
// shapes) with no momentum.
func (be *Backend) setHeads(s, k int, recs []trainer.TensorRecord) error {
	if s <= 1 && k <= 1 {
		return errors.New("gpu: heads with one super-class and one sub-class have nothing to learn")
	}
	be.freeHeads()
	h := &heads{s: s, k: k}
	for _, r := range recs {
		p, err := be.newParam(r, true, &be.headBufs)
		if err != nil {
			return err
		}
		switch r.Name {
		case "head/V":
			h.v = p
		case "head/V.bias":
			h.vb = p
		case "head/W":
			h.w = p
		case "head/W.bias":
			h.wb = p
		}
	}
	B := be.b
	mk := func(n int) (device.Buffer, error) {
		buf, err := be.dev.Alloc(4 * max(n, 1))
		if err != nil {
			return nil, fmt.Errorf("gpu: alloc head buffer: %w", err)
		}
		be.headBufs = append(be.headBufs, buf)
		return buf, nil
	}
	var err error
	for _, b := range []struct {
		dst *device.Buffer
		n   int
	}{{&be.super, B}, {&be.sub, B}, {&be.superOrder, B}, {&be.superStart, s + 1}, {&be.logS, B * s}, {&be.dlS, B * s}, {&be.logZ, B * k}, {&be.dlZ, B * k},
		{&be.lossS, B}, {&be.lossZ, B}, {&be.hitS, B}, {&be.hitZ, B}} {
		if *b.dst, err = mk(b.n); err != nil {
			return err
		}
	}
	be.hd = h
	return nil
}

func (be *Backend) freeHeads() {
	be.dropGraph()
	for _, b := range be.headBufs {
		be.dev.Free(b)
	}
	be.headBufs = nil
	be.hd = nil
}

// trunkParams lists the trunk's learnable tensors in the CPU backend's
// order: per convolution weight, BN scale, BN bias; then fc1, fc2.
func (be *Backend) trunkParams() []*param {
	var ps []*param
	for _, l := range be.layers {
		ps = append(ps, l.w, l.gamma, l.beta)
	}
	return append(ps, be.fc[:]...)
}

// learnable is every tensor SGD updates, trunk then heads.
func (be *Backend) learnable() []*param {
	ps := be.trunkParams()
	if be.hd != nil {
		ps = append(ps, be.hd.params()...)
	}
	return ps
}

// allTrunk is the trunk's tensors in State order: weights, running means,
// running variances.
func (be *Backend) allTrunk() []*param {
	ps := be.trunkParams()
	for _, l := range be.layers {
		ps = append(ps, l.rmean)
	}
	for _, l := range be.layers {
		ps = append(ps, l.rvar)
	}
	return ps
}

// forwardTrunk runs the trunk on the first n images in be.x, in training
// mode (batch statistics, running statistics updated) or eval mode, and
// leaves the features (before ReLU) in be.feat.
func (be *Backend) forwardTrunk(n int, train bool) error {
	o := be.o
	r := be.cfg.Resolution
	h := be.x
	if be.cfg.Sobel {
		if err := o.convFwd(be.x, be.sobelW, be.sobelOut, n, 3, 2, r); err != nil {
			return err
		}
		h = be.sobelOut
	}
	for _, l := range be.layers {
		ss := l.side * l.side
		if err := o.convFwd(h, l.w.w, l.conv, n, l.cin, l.cout, l.side); err != nil {
			return err
		}
		if train {
			if err := o.bnStats(l.conv, l.mean, l.invstd, l.rmean.w, l.rvar.w, be.bnPart, n, l.cout, ss, bnMomentum, bnEps); err != nil {
				return err
			}
			if err := o.bnReLU(l.conv, l.act, l.mean, l.invstd, l.gamma.w, l.beta.w, n, l.cout, ss); err != nil {
				return err
			}
		} else if err := o.bnReLUEval(l.conv, l.act, l.rmean.w, l.rvar.w, l.gamma.w, l.beta.w, bnEps, n, l.cout, ss); err != nil {
			return err
		}
		if l.pool {
			if err := o.poolFwd(l.act, l.pooled, l.arg, n*l.cout, l.side); err != nil {
				return err
			}
		}
		h = l.out()
	}
	H := be.cfg.Hidden
	fc1, fc1b, fc2, fc2b := be.fc[0], be.fc[1], be.fc[2], be.fc[3]
	if err := o.gemm(false, false, n, H, be.fcIn, 1, h, 0, be.fcIn, fc1.w, 0, H, 0, be.f1, 0, H); err != nil {
		return err
	}
	if err := o.biasAct(be.f1, fc1b.w, n, H, true); err != nil {
		return err
	}
	if err := o.gemm(false, false, n, H, H, 1, be.f1, 0, H, fc2.w, 0, H, 0, be.feat, 0, H); err != nil {
		return err
	}
	return o.biasAct(be.feat, fc2b.w, n, H, false)
}

// Step implements trainer.Backend: forward, backward and one SGD update.
func (be *Backend) Step(bt *trainer.Batch) (trainer.StepStats, error) {
	var st trainer.StepStats
	h := be.hd
	if h == nil {
		return st, errors.New("gpu: no heads yet")
	}
	B, r := be.b, be.cfg.Resolution
	if len(bt.X) != B*3*r*r || len(bt.Super) != B || len(bt.Sub) != B {
		return st, fmt.Errorf("gpu: batch of %d values, %d super and %d sub targets, want batch %d", len(bt.X), len(bt.Super), len(bt.Sub), B)
	}
	super, sub := make([]int32, B), make([]int32, B)
	for i := range B {
		if s := bt.Super[i]; s < 0 || s >= h.s {
			return st, fmt.Errorf("gpu: sample %d: super-class %d outside [0,%d)", i, s, h.s)
		}
		if z := bt.Sub[i]; h.w != nil && (z < 0 || z >= h.k) {
			return st, fmt.Errorf("gpu: sample %d: sub-class %d outside [0,%d)", i, z, h.k)
		}
		super[i], sub[i] = int32(bt.Super[i]), int32(bt.Sub[i])
	}
	if err := be.dev.WriteF32(be.x, 0, bt.X); err != nil {
		return st, fmt.Errorf("gpu: upload batch: %w", err)
	}
	if err := be.dev.WriteI32(be.super, 0, super); err != nil {
		return st, fmt.Errorf("gpu: upload targets: %w", err)
	}
	if err := be.dev.WriteI32(be.sub, 0, sub); err != nil {
		return st, fmt.Errorf("gpu: upload targets: %w", err)
	}
	if h.w != nil {
		be.hostStart, be.hostOrder = deepercluster.GroupByLabel(super, h.s, be.hostStart, be.hostOrder)
		if err := be.dev.WriteI32(be.superOrder, 0, be.hostOrder); err != nil {
			return st, fmt.Errorf("gpu: upload targets: %w", err)
		}
		if err := be.dev.WriteI32(be.superStart, 0, be.hostStart); err != nil {
			return st, fmt.Errorf("gpu: upload targets: %w", err)
		}
	}
	if be.lr != be.lrOnDev {
		if err := be.dev.WriteF32(be.lrBuf, 0, []float32{float32(be.lr)}); err != nil {
			return st, fmt.Errorf("gpu: upload learning rate: %w", err)
		}
		be.lrOnDev = be.lr
	}
	if err := be.runStep(); err != nil {
		return st, err
	}
	for _, p := range be.learnable() {
		p.hasMom = true
	}
	if err := be.dev.Finish(); err != nil {
		return st, fmt.Errorf("gpu: training step: %w", err)
	}
	var err error
	if h.v != nil {
		if st.LossSuper, st.PrecSuper, err = be.lossStats(be.lossS, be.hitS); err != nil {
			return st, err
		}
	}
	if h.w != nil {
		if st.LossSub, st.PrecSub, err = be.lossStats(be.lossZ, be.hitZ); err != nil {
			return st, err
		}
	}
	if math.IsNaN(st.LossSuper) || math.IsNaN(st.LossSub) {
		return st, errors.New("gpu: loss is NaN (learning rate too high?)")
	}
	return st, nil
}

// runStep queues the step's launches: replays the recorded graph where
// there is one (recording it first after new heads), else launches them
// one by one.
func (be *Backend) runStep() error { return be.replay(&be.graph, be.launchStep) }

// replay runs launch's kernels through the graph *g, recording it first
// when there is none yet, or launches them directly when the device has no
// graphs (or Options.PlainLaunches). launch must only queue launches, on
// buffers that outlive the graph.
func (be *Backend) replay(g *device.Graph, launch func() error) error {
	if be.graphs == nil {
		return launch()
	}
	if *g == nil {
		if err := be.graphs.BeginCapture(); err != nil {
			return fmt.Errorf("gpu: record launches: %w", err)
		}
		err := launch()
		rec, endErr := be.graphs.EndCapture()
		if err != nil {
			if rec != nil {
				rec.Close()
			}
			return err
		}
		if endErr != nil {
			return fmt.Errorf("gpu: record launches: %w", endErr)
		}
		*g = rec
	}
	if err := (*g).Launch(); err != nil {
		return fmt.Errorf("gpu: replay launches: %w", err)
	}
	return nil
}

// dropGraph forgets the recorded step (its heads' buffers are gone).
func (be *Backend) dropGraph() {
	if be.graph != nil {
		be.graph.Close()
		be.graph = nil
	}
}

// launchStep queues one training step's kernels on the batch and targets
// already on the device: forward, the heads' losses, backward, SGD. It
// queues launches only (no copies), so that it can be recorded.
func (be *Backend) launchStep() error {
	h, o := be.hd, be.o
	B, H := be.b, be.cfg.Hidden
	if err := be.forwardTrunk(B, true); err != nil {
		return err
	}
	if err := o.relu(be.feat, be.hr, B*H); err != nil {
		return err
	}
	scale := float32(1) / float32(B)
	if h.v != nil {
		if err := o.gemm(false, false, B, h.s, H, 1, be.hr, 0, H, h.v.w, 0, h.s, 0, be.logS, 0, h.s); err != nil {
			return err
		}
		if err := o.biasAct(be.logS, h.vb.w, B, h.s, false); err != nil {
			return err
		}
		if err := o.softmaxXent(be.logS, be.super, be.dlS, be.lossS, be.hitS, B, h.s, scale); err != nil {
			return err
		}
	}
	if h.w != nil {
		if err := o.subheadFwd(be.hr, h.w.w, h.wb.w, be.super, be.logZ, B, H, h.k); err != nil {
			return err
		}
		if err := o.softmaxXent(be.logZ, be.sub, be.dlZ, be.lossZ, be.hitZ, B, h.k, scale); err != nil {
			return err
		}
	}
	if err := be.backward(); err != nil {
		return err
	}
	mom, wd := float32(be.mom), float32(be.wd)
	for _, p := range be.learnable() {
		if err := o.sgd(p.w, p.g, p.m, p.n, be.lrBuf, mom, wd); err != nil {
			return err
		}
	}
	return nil
}

// lossStats reads one head's per-sample losses and hits back: the mean
// loss and the top-1 precision.
func (be *Backend) lossStats(loss, hit device.Buffer) (float64, float64, error) {
	be.hostLoss = slices.Grow(be.hostLoss[:0], be.b)[:be.b]
	be.hostHit = slices.Grow(be.hostHit[:0], be.b)[:be.b]
	if err := be.dev.ReadF32(loss, 0, be.hostLoss); err != nil {
		return 0, 0, fmt.Errorf("gpu: read losses: %w", err)
	}
	if err := be.dev.ReadI32(hit, 0, be.hostHit); err != nil {
		return 0, 0, fmt.Errorf("gpu: read hits: %w", err)
	}
	var l float64
	hits := 0
	for i, v := range be.hostLoss {
		l += float64(v)
		hits += int(be.hostHit[i])
	}
	return l / float64(be.b), float64(hits) / float64(be.b), nil
}

// backward computes every learnable tensor's gradient from the heads'
// logit gradients (dlS, dlZ) left by Step.
func (be *Backend) backward() error {
	o, h := be.o, be.hd
	B, H := be.b, be.cfg.Hidden
	// heads: dh = dL/d relu(feat)
	if h.v != nil {
		if err := o.gemm(false, true, B, H, h.s, 1, be.dlS, 0, h.s, h.v.w, 0, h.s, 0, be.dh, 0, H); err != nil {
			return err
		}
		if err := o.gemm(true, false, H, h.s, B, 1, be.hr, 0, H, be.dlS, 0, h.s, 0, h.v.g, 0, h.s); err != nil {
			return err
		}
		if err := o.colSum(be.dlS, B, h.s, h.vb.g); err != nil {
			return err
		}
	}
	if h.w != nil {
		if err := o.subheadDH(be.dlZ, h.w.w, be.super, be.dh, B, H, h.k, h.v != nil); err != nil {
			return err
		}
		if err := o.subheadDW(be.hr, be.dlZ, be.superOrder, be.superStart, h.w.g, h.wb.g, h.s, H, h.k); err != nil {
			return err
		}
	}
	// fc2 (no ReLU on the feature itself; the heads read relu(feat))
	fc1, fc1b, fc2, fc2b := be.fc[0], be.fc[1], be.fc[2], be.fc[3]
	if err := o.reluBwd(be.feat, be.dh, be.df, B*H); err != nil {
		return err
	}
	if err := o.gemm(true, false, H, H, B, 1, be.f1, 0, H, be.df, 0, H, 0, fc2.g, 0, H); err != nil {
		return err
	}
	if err := o.colSum(be.df, B, H, fc2b.g); err != nil {
		return err
	}
	if err := o.gemm(false, true, B, H, H, 1, be.df, 0, H, fc2.w, 0, H, 0, be.dh, 0, H); err != nil {
		return err
	}
	// fc1, under its ReLU
	if err := o.reluBwd(be.f1, be.dh, be.df, B*H); err != nil {
		return err
	}
	last := be.layers[len(be.layers)-1].out()
	if err := o.gemm(true, false, be.fcIn, H, B, 1, last, 0, be.fcIn, be.df, 0, H, 0, fc1.g, 0, H); err != nil {
		return err
	}
	if err := o.colSum(be.df, B, H, fc1b.g); err != nil {
		return err
	}
	cur, other := be.dA, be.dB
	if err := o.gemm(false, true, B, be.fcIn, H, 1, be.df, 0, H, fc1.w, 0, H, 0, cur, 0, be.fcIn); err != nil {
		return err
	}
	// the convolutions, last first; cur holds the gradient of the
	// current layer's output
	for i := len(be.layers) - 1; i >= 0; i-- {
		l := be.layers[i]
		ss := l.side * l.side
		if l.pool {
			if err := o.poolBwd(cur, l.arg, other, B*l.cout, l.side); err != nil {
				return err
			}
			cur, other = other, cur
		}
		if err := o.bnReLUBackward(l.conv, l.act, cur, other, l.mean, l.invstd, l.gamma.w, l.gamma.g, l.beta.g,
			be.bnPart, l.coef, B, l.cout, ss); err != nil {
			return err
		}
		cur, other = other, cur
		in := be.x
		switch {
		case i > 0:
			in = be.layers[i-1].out()
		case be.cfg.Sobel:
			in = be.sobelOut
		}
		if err := o.convDW(in, cur, l.w.g, be.dwPart, B, l.cin, l.cout, l.side); err != nil {
			return err
		}
		if i > 0 {
			if err := o.convDX(cur, l.w.w, other, B, l.cin, l.cout, l.side); err != nil {
				return err
			}
			cur, other = other, cur
		}
	}
	return nil
}

// Extract implements trainer.Backend: eval mode, in chunks of the training
// batch, features before the ReLU. A full chunk's launches are recorded
// once and replayed where the device has graphs.
func (be *Backend) Extract(x []float32, n int, dst []float32) error {
	r, H := be.cfg.Resolution, be.cfg.Hidden
	per := 3 * r * r
	if n < 0 || len(x) < n*per || len(dst) < n*H {
		return fmt.Errorf("gpu: extract %d images from %d values into %d, want %d and %d", n, len(x), len(dst), n*per, n*H)
	}
	for off := 0; off < n; off += be.b {
		c := min(be.b, n-off)
		if err := be.dev.WriteF32(be.x, 0, x[off*per:(off+c)*per]); err != nil {
			return fmt.Errorf("gpu: upload images: %w", err)
		}
		var err error
		if c == be.b {
			err = be.replay(&be.extractGraph, func() error { return be.forwardTrunk(be.b, false) })
		} else {
			err = be.forwardTrunk(c, false)
		}
		if err != nil {
			return err
		}
		if err := be.dev.Finish(); err != nil {
			return fmt.Errorf("gpu: extraction: %w", err)
		}
		if err := be.dev.ReadF32(be.feat, 0, dst[off*H:(off+c)*H]); err != nil {
			return fmt.Errorf("gpu: read features: %w", err)
		}
	}
	return nil
}

// read copies a device tensor into a record.
func (be *Backend) read(p *param, buf device.Buffer, name string) (trainer.TensorRecord, error) {
	rec := trainer.TensorRecord{Name: name, Shape: slices.Clone(p.shape), Data: make([]float32, p.n)}
	if err := be.dev.ReadF32(buf, 0, rec.Data); err != nil {
		return rec, fmt.Errorf("gpu: read %s: %w", name, err)
	}
	return rec, nil
}

// State implements trainer.Backend, in the CPU backend's order: trunk
// weights, running means, running variances, heads, momentum.
func (be *Backend) State() (*trainer.State, error) {
	if err := be.dev.Finish(); err != nil {
		return nil, fmt.Errorf("gpu: state: %w", err)
	}
	st := &trainer.State{}
	ps := be.allTrunk()
	if be.hd != nil {
		st.HeadS, st.HeadK = be.hd.s, be.hd.k
		ps = append(ps, be.hd.params()...)
	}
	for _, p := range ps {
		rec, err := be.read(p, p.w, p.name)
		if err != nil {
			return nil, err
		}
		st.Tensors = append(st.Tensors, rec)
	}
	for _, p := range be.learnable() {
		if !p.hasMom {
			continue
		}
		rec, err := be.read(p, p.m, momentumPrefix+p.name)
		if err != nil {
			return nil, err
		}
		st.Tensors = append(st.Tensors, rec)
	}
	return st, nil
}

// source finds p's tensor in st and checks its shape.
func source(st *trainer.State, name string, shape []int, n int) (*trainer.TensorRecord, error) {
	t := st.Tensor(name)
	if t == nil {
		return nil, fmt.Errorf("gpu: no tensor %q (saved by another model?)", name)
	}
	if !slices.Equal(t.Shape, shape) || len(t.Data) != n {
		return nil, fmt.Errorf("gpu: tensor %q has shape %v, the model wants %v", name, t.Shape, shape)
	}
	return t, nil
}

// LoadState implements trainer.Backend as the CPU backend does: every
// tensor is checked before the first is copied; heads (when st has them)
// are replaced, and the momentum st holds is loaded, the rest kept.
func (be *Backend) LoadState(st *trainer.State) error {
	var headRecs []trainer.TensorRecord
	if st.HeadS > 0 || st.HeadK > 0 {
		for _, r := range trainer.InitHeads(st.HeadS, st.HeadK, be.cfg.Hidden, rand.New(rand.NewPCG(0, 0))) {
			src, err := source(st, r.Name, r.Shape, len(r.Data))
			if err != nil {
				return err
			}
			headRecs = append(headRecs, *src)
		}
	}
	trunk := be.allTrunk()
	srcs := make([]*trainer.TensorRecord, len(trunk))
	for i, p := range trunk {
		src, err := source(st, p.name, p.shape, p.n)
		if err != nil {
			return err
		}
		srcs[i] = src
	}
	// momentum is loaded only with heads (as the CPU backend does); check
	// its sizes before anything is written
	if headRecs != nil {
		sizes := map[string]int{}
		for _, p := range be.trunkParams() {
			sizes[p.name] = p.n
		}
		for _, r := range headRecs {
			sizes[r.Name] = len(r.Data)
		}
		for name, n := range sizes {
			if rec := st.Tensor(momentumPrefix + name); rec != nil && len(rec.Data) != n {
				return fmt.Errorf("gpu: tensor %q has %d values, the model wants %d", rec.Name, len(rec.Data), n)
			}
		}
	}
	for i, p := range trunk {
		if err := be.dev.WriteF32(p.w, 0, srcs[i].Data); err != nil {
			return fmt.Errorf("gpu: upload %s: %w", p.name, err)
		}
	}
	if headRecs == nil {
		return nil
	}
	if err := be.setHeads(st.HeadS, st.HeadK, headRecs); err != nil {
		return err
	}
	for _, p := range be.learnable() {
		rec := st.Tensor(momentumPrefix + p.name)
		if rec == nil {
			continue // no step taken since the heads were made
		}
		if err := be.dev.WriteF32(p.m, 0, rec.Data); err != nil {
			return fmt.Errorf("gpu: upload %s: %w", rec.Name, err)
		}
		p.hasMom = true
	}
	return nil
}

// Close implements trainer.Backend: it frees the backend's buffers; the
// device stays open unless the backend owns it (Options.CloseDevice).
func (be *Backend) Close() error {
	if be.dev == nil {
		return nil
	}
	be.freeHeads()
	if be.extractGraph != nil {
		be.extractGraph.Close()
		be.extractGraph = nil
	}
	be.graphs = nil
	for _, b := range be.allocated {
		be.dev.Free(b)
	}
	be.allocated = nil
	var err error
	if be.ownDev {
		if err = be.dev.Close(); err != nil {
			err = fmt.Errorf("gpu: close %s device: %w", be.dev.Kind(), err)
		}
	}
	be.dev = nil
	return err
}

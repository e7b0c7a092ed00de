package trainer

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The reference the CPU backend's own ops and extraction path are tested
// against: the same trunk and heads built from gorgonia's Conv2d,
// BatchNorm, Rectify, MaxPool2D and gather ops, on NCHW input. No backend
// runs it (fastOps is what cpuNet builds); TestFastOpsMatchGorgonia and
// TestFastExtractMatchesGraph hold our ops to it.

// refOps is trainOps with gorgonia's own ops: set a cpuNet's ops to it
// before its first setHeads.
type refOps struct{}

func (refOps) input(g *G.ExprGraph, b, r int) (*G.Node, *tensor.Dense) {
	t := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(b, 3, r, r))
	return G.NewTensor(g, tensor.Float32, 4, G.WithShape(b, 3, r, r), G.WithName("x"), G.WithValue(t)), t
}

func (refOps) load(dst, src []float32, _, _ int) { copy(dst, src) }

func (refOps) trunk(t *cpuTrunk, g *G.ExprGraph, x *G.Node) (*graphTrunk, error) {
	return t.build(g, x)
}

func (refOps) subHeads(g *G.ExprGraph, hr, w, wb *G.Node, superIx *tensor.Dense, b, h, k, _ int) (*G.Node, error) {
	return gatherSubHeads(g, hr, w, wb, superIx, b, h, k)
}

// build adds the trunk on input x (B, 3, R, R) to g with gorgonia's ops.
// gorgonia's BatchNorm ops keep their own running statistics, which the
// graph trunk's saveBN and loadBN copy to and from t.
func (t *cpuTrunk) build(g *G.ExprGraph, x *G.Node) (*graphTrunk, error) {
	gt := &graphTrunk{}
	for _, p := range t.Params {
		gt.params = append(gt.params, paramNode(g, p))
	}
	var bn []*G.BatchNormOp
	gt.saveBN = func() { t.saveBN(bn) }
	gt.loadBN = func() error { return t.loadBN(bn) }
	var err error
	h := x
	if t.Cfg.Sobel {
		sob := G.NewTensor(g, tensor.Float32, 4, G.WithShape(2, 3, 3, 3), G.WithName("sobel"), G.WithValue(sobelFilter()))
		if h, err = G.Conv2d(h, sob, tensor.Shape{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1}); err != nil {
			return nil, fmt.Errorf("sobel: %w", err)
		}
	}
	pi := 0
	for s := range t.Cfg.Depth {
		for range t.Cfg.ConvsPerStage {
			w, gam, bet := gt.params[pi], gt.params[pi+1], gt.params[pi+2]
			pi += 3
			if h, err = G.Conv2d(h, w, tensor.Shape{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1}); err != nil {
				return nil, fmt.Errorf("%s: %w", w.Name(), err)
			}
			// No conv bias: BatchNorm right after makes it redundant.
			var op *G.BatchNormOp
			if h, _, _, op, err = G.BatchNorm(h, gam, bet, 0.1, 1e-5); err != nil {
				return nil, fmt.Errorf("%s bn: %w", w.Name(), err)
			}
			bn = append(bn, op)
			if h, err = G.Rectify(h); err != nil {
				return nil, err
			}
		}
		if h, err = G.MaxPool2D(h, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}); err != nil {
			return nil, fmt.Errorf("pool %d: %w", s+1, err)
		}
	}
	b := h.Shape()[0]
	if h, err = G.Reshape(h, tensor.Shape{b, t.Cfg.flatSize()}); err != nil {
		return nil, fmt.Errorf("flatten: %w", err)
	}
	if gt.feat, err = fcLayers(h, gt.params[pi:]); err != nil {
		return nil, err
	}
	return gt, nil
}

// fcLayers adds fc1, ReLU, fc2 on the flattened trunk output.
func fcLayers(h *G.Node, ps []*G.Node) (*G.Node, error) {
	fc := func(h, w, bias *G.Node) (*G.Node, error) {
		y, err := G.Mul(h, w)
		if err != nil {
			return nil, err
		}
		return G.BroadcastAdd(y, bias, nil, []byte{0})
	}
	h, err := fc(h, ps[0], ps[1])
	if err != nil {
		return nil, fmt.Errorf("fc1: %w", err)
	}
	if h, err = G.Rectify(h); err != nil {
		return nil, err
	}
	if h, err = fc(h, ps[2], ps[3]); err != nil {
		return nil, fmt.Errorf("fc2: %w", err)
	}
	return h, nil
}

// loadBN copies the trunk's running statistics into the graph's BN ops
// (NewTapeMachine resets them: docs/ENGINEERING-NOTES.md, gorgonia).
func (t *cpuTrunk) loadBN(ops []*G.BatchNormOp) error {
	for i, op := range ops {
		if err := op.SetStats(t.BNMean[i].t, t.BNVar[i].t); err != nil {
			return fmt.Errorf("bn layer %d: %w", i, err)
		}
	}
	return nil
}

// saveBN copies the running statistics of the graph's BN ops into the
// trunk.
func (t *cpuTrunk) saveBN(ops []*G.BatchNormOp) {
	for i, op := range ops {
		m, v := op.Stats()
		copy(t.BNMean[i].Data, m.Data().([]float32))
		copy(t.BNVar[i].Data, v.Data().([]float32))
	}
}

// gatherSubHeads is the sub-heads from gorgonia's ops, refOps's version of
// subHeadOp: gather each sample's own W_s (B, H*K) from the stacked
// (S, H*K) weight, then one batched (1,H)x(H,K) product per sample; the
// gradient of the gather is scattered back into the (S, H*K) weight.
func gatherSubHeads(g *G.ExprGraph, hr, w, wb *G.Node, superIx *tensor.Dense, B, H, K int) (*G.Node, error) {
	ix := G.NewVector(g, tensor.Int, G.WithShape(B), G.WithName("super_ix"), G.WithValue(superIx))
	wg, err := G.ByIndices(w, ix, 0)
	if err != nil {
		return nil, fmt.Errorf("gather W_s: %w", err)
	}
	if wg, err = G.Reshape(wg, tensor.Shape{B, H, K}); err != nil {
		return nil, err
	}
	h3, err := G.Reshape(hr, tensor.Shape{B, 1, H})
	if err != nil {
		return nil, err
	}
	y, err := G.BatchedMatMul(h3, wg)
	if err != nil {
		return nil, fmt.Errorf("sub-heads: %w", err)
	}
	if y, err = G.Reshape(y, tensor.Shape{B, K}); err != nil {
		return nil, err
	}
	bg, err := G.ByIndices(wb, ix, 0)
	if err != nil {
		return nil, fmt.Errorf("gather b_s: %w", err)
	}
	return G.Add(y, bg)
}

// extractGraph is Extract through gorgonia's eval-mode extraction graph at
// batch eb: the reference for the direct path of cpu_infer.go. The last
// partial batch is padded with zeros.
func (n *cpuNet) extractGraph(eb int, x []float32, cnt int, dst []float32) error {
	if err := checkExtract(n.Trunk.Cfg, x, cnt, dst); err != nil {
		return err
	}
	r := n.Trunk.Cfg.Resolution
	eg := G.NewGraph()
	exT := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(eb, 3, r, r))
	ex := G.NewTensor(eg, tensor.Float32, 4, G.WithShape(eb, 3, r, r), G.WithName("x"), G.WithValue(exT))
	eTrunk, err := n.Trunk.build(eg, ex)
	if err != nil {
		return fmt.Errorf("extraction graph: %w", err)
	}
	em := G.NewTapeMachine(eg, G.EvalMode())
	defer em.Close()
	per := 3 * r * r
	H := n.Trunk.Cfg.Hidden
	n.SyncBN()
	if err := eTrunk.pushStats(); err != nil {
		return err
	}
	in := exT.Data().([]float32)
	for off := 0; off < cnt; off += eb {
		c := min(eb, cnt-off)
		copy(in, x[off*per:(off+c)*per])
		clear(in[c*per:])
		if err := em.RunAll(); err != nil {
			em.Reset()
			return fmt.Errorf("model: extraction: %w", err)
		}
		f := eTrunk.feat.Value().Data().([]float32)
		copy(dst[off*H:(off+c)*H], f[:c*H])
		em.Reset()
	}
	return nil
}

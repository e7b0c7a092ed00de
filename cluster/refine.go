package cluster

import (
	"context"
	"fmt"
	"math"

	"github.com/deepercluster/deepercluster/internal/par"
)

// RefineOptions configures RefineNeighbours. The zero value of a field
// means its default (in brackets).
type RefineOptions struct {
	// K is the number of clusters [10].
	K int `json:"k"`
	// Neighbours is the number of nearest neighbours of each image, in
	// feature space, whose cluster it should share [20].
	Neighbours int `json:"neighbours"`
	// Diffuse is the number of feature diffusion steps before clustering:
	// each step moves a row towards the mean of its neighbours,
	// x <- normalise((1-Alpha) x + Alpha mean(neighbours)) [0: none].
	Diffuse int `json:"diffuse"`
	// Alpha is the weight of the neighbours' mean in a diffusion step [0.5].
	Alpha float64 `json:"alpha"`
	// Steps is the number of full-batch Adam steps of the neighbour
	// consistency objective (SCAN's) on the softmax head [100; negative:
	// none].
	Steps int `json:"steps"`
	// EntropyWeight weighs the entropy of the mean cluster probability,
	// which keeps the clusters balanced (SCAN uses 5) [5].
	EntropyWeight float64 `json:"entropy_weight"`
	// Threshold is the top cluster probability above which an image is
	// confident and joins the self-labelling set [0.9; > 1: no self-labelling].
	Threshold float64 `json:"threshold"`
	// SelfLabelSteps is the number of full-batch Adam steps of
	// cross-entropy on the confident images' own labels [100].
	SelfLabelSteps int `json:"self_label_steps"`
	// LR is Adam's learning rate for the head [0.05].
	LR float64 `json:"lr"`
	// Temperature scales the k-means start: the head starts with logits
	// -|x - centroid|^2 / (Temperature * the k-means objective per row),
	// the k-means assignment with soft probabilities [1].
	Temperature float64 `json:"temperature"`
	// Restarts is the number of k-means++ starts of the initial clustering,
	// the lowest objective kept [10].
	Restarts int `json:"restarts"`
	// Start, when set (one cluster in [0, K) per row), is the clustering
	// the head starts from instead of k-means of the rows: the head starts
	// from its groups' means as it would from k-means' centroids, and
	// Starts is ignored. A clustering found another way can start the
	// refinement (k-means of a 2-D layout of the rows was tried so,
	// docs/QUALITY.md).
	Start []int32 `json:"-"`
	// Starts is the number of refinements, each from the k-means of its
	// own Restarts seeds, of which one is kept, chosen by Pick. The loss
	// has a local minimum near each start, and neither rule needs labels
	// to compare them [1].
	Starts int `json:"starts"`
	// Pick is how one of the Starts refinements is kept: PickLoss, the
	// lowest SCAN loss after its consistency steps, or PickAgreement, the
	// one whose clustering agrees most with the others' [PickLoss].
	Pick Pick `json:"pick,omitempty"`
	// Seed makes the k-means starts reproducible. Each seed draws its own
	// k-means seeds (Seed<<32 onwards), so two seeds share no start.
	Seed uint64 `json:"seed"`
	// Raw skips the L2 normalisation of the rows (the default normalises,
	// as the evaluator's k-means does).
	Raw bool `json:"raw"`
}

// Pick names a rule that keeps one of several refinements.
type Pick string

const (
	// PickLoss keeps the refinement with the lowest SCAN loss.
	PickLoss Pick = "loss"
	// PickAgreement keeps the refinement whose clustering (after its
	// consistency steps) has the highest mean NMI with the other starts'
	// clusterings, the lowest loss breaking ties: the medoid of the
	// starts. It exists because the loss does not always rank partitions
	// as the labels do (a few starts in a poorer basin can reach a
	// slightly lower loss), while the partition most starts agree on is
	// the basin most of them fall into (docs/QUALITY.md, "Which start to
	// keep").
	PickAgreement Pick = "agreement"
)

func (o RefineOptions) withDefaults() RefineOptions {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	deff := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.K, 10)
	def(&o.Neighbours, 20)
	def(&o.Steps, 100)
	def(&o.SelfLabelSteps, 100)
	def(&o.Restarts, 10)
	def(&o.Starts, 1)
	deff(&o.Alpha, 0.5)
	deff(&o.EntropyWeight, 5)
	deff(&o.Threshold, 0.9)
	deff(&o.LR, 0.05)
	deff(&o.Temperature, 1)
	if o.Pick == "" {
		o.Pick = PickLoss
	}
	return o
}

// Refinement is a clustering fitted by RefineNeighbours: a softmax head
// over (normalised, diffused) features, which Assign applies to images it
// was not fitted on.
type Refinement struct {
	opts RefineOptions
	// train holds the fitted rows after normalisation and diffusion, the
	// neighbours of new rows are looked up in the original ones (knn).
	train []float32
	knn   *KNN
	n, d  int
	// W (d x K, row-major) and B (K) are the head: logits x W + B.
	W, B []float64
	// Initial is the k-means clustering the head started from; Assigned
	// is the refined clustering of the fitted rows.
	Initial, Assigned []int32
	// Loss is the SCAN loss of the kept head after its neighbour
	// consistency steps (with PickLoss the lowest of the Starts).
	Loss float64
	// StartLosses is each start's SCAN loss after its consistency steps,
	// in start order: how many basins the starts fell into, and how far
	// apart, without labels.
	StartLosses []float64
	// Confident is the number of fitted rows in the self-labelling set.
	Confident int
}

// RefineNeighbours clusters the rows of x (n x d) and refines the
// clustering with their nearest neighbours, SCAN-style (Van Gansbeke et
// al. 2020) but over fixed features: k-means gives a start, a linear
// softmax head is trained to give each row and its nearest neighbours the
// same cluster (maximising log p_i.p_j) while the entropy of the mean
// probability keeps the clusters balanced, and then the confident rows
// (top probability above Threshold) relabel the rest by cross-entropy on
// their own labels. A deep feature space is locally better than globally:
// a row's nearest neighbours mostly share its class where k-means'
// Voronoi cells cut across classes. It exists because k-means alone leaves
// DeeperCluster's features at NMI 0.64 on Fashion-MNIST (issue 28).
func RefineNeighbours(ctx context.Context, x []float32, n, d int, opts RefineOptions) (*Refinement, error) {
	o := opts.withDefaults()
	if err := checkMatrix(x, n, d); err != nil {
		return nil, fmt.Errorf("refine: %w", err)
	}
	switch {
	case o.K < 2 || o.K > n:
		return nil, fmt.Errorf("refine: %w: K = %d clusters for %d rows", ErrBadInput, o.K, n)
	case o.Neighbours < 1 || o.Neighbours >= n:
		return nil, fmt.Errorf("refine: %w: %d neighbours for %d rows", ErrBadInput, o.Neighbours, n)
	case o.Alpha < 0 || o.Alpha > 1:
		return nil, fmt.Errorf("refine: %w: Alpha = %g, want [0, 1]", ErrBadInput, o.Alpha)
	case o.Temperature < 0 || o.LR < 0 || o.EntropyWeight < 0:
		return nil, fmt.Errorf("refine: %w: negative Temperature, LR or EntropyWeight", ErrBadInput)
	case o.Pick != PickLoss && o.Pick != PickAgreement:
		return nil, fmt.Errorf("refine: %w: Pick %q, want %q or %q", ErrBadInput, o.Pick, PickLoss, PickAgreement)
	}
	r := &Refinement{opts: o, n: n, d: d}
	xs := prepareRows(x, n, d, o.Raw)
	knn, err := NewKNN(xs, n, d)
	if err != nil {
		return nil, fmt.Errorf("refine: %w", err)
	}
	r.knn = knn
	nb, err := knn.SearchMany(ctx, xs, n, o.Neighbours, true)
	if err != nil {
		return nil, fmt.Errorf("refine: neighbour graph: %w", err)
	}
	// Diffusion, on a copy: knn keeps searching the undiffused rows.
	r.train = xs
	if o.Diffuse > 0 {
		r.train = append([]float32(nil), xs...)
		for range o.Diffuse {
			r.train = diffuse(r.train, r.train, nb, n, d, o)
		}
	}
	// Each of Starts refinements starts from its own clustering and
	// trains its own head; Pick keeps one.
	starts := max(o.Starts, 1)
	if o.Start != nil {
		starts = 1
	}
	graph := newNeighbourGraph(nb, n, o.Neighbours)
	cands := make([]refineCandidate, starts)
	for start := range starts {
		best, err := refineStart(ctx, r.train, n, d, o, start)
		if err != nil {
			return nil, err
		}
		w, b := kmeansHead(best, n, d, o)
		cand := &head{x: r.train, n: n, d: d, k: o.K, w: w, b: b}
		if o.Steps > 0 {
			if err := cand.fit(ctx, o.Steps, o.LR, func(p, g []float64) { scanGrad(p, g, graph, o.K, o.EntropyWeight) }); err != nil {
				return nil, fmt.Errorf("refine: neighbour consistency: %w", err)
			}
		}
		p := cand.probs()
		cands[start] = refineCandidate{h: cand, initial: best.Assign, loss: scanLoss(p, nb, n, o.K, o.Neighbours, o.EntropyWeight)}
		if o.Pick == PickAgreement {
			cands[start].assigned = argmaxRows(p, n, o.K)
		}
	}
	for _, c := range cands {
		r.StartLosses = append(r.StartLosses, c.loss)
	}
	kept := cands[pickRefinement(cands, o.Pick)]
	h := kept.h
	r.Loss, r.Initial = kept.loss, kept.initial
	r.W, r.B = h.w, h.b
	if o.Threshold <= 1 && o.SelfLabelSteps > 0 {
		p := h.probs()
		target := make([]int32, n)
		counts := make([]int, o.K)
		for i := range n {
			row := p[i*o.K : (i+1)*o.K]
			c := argmax(row)
			target[i] = -1
			if row[c] > o.Threshold {
				target[i] = int32(c)
				counts[c]++
				r.Confident++
			}
		}
		if r.Confident > 0 {
			// Each class weighs in inversely to its confident count (SCAN
			// does the same), so a large confident cluster does not grow
			// over its neighbours.
			weight := make([]float64, o.K)
			for c, m := range counts {
				if m > 0 {
					weight[c] = float64(r.Confident) / float64(o.K*m)
				}
			}
			if err := h.fit(ctx, o.SelfLabelSteps, o.LR, func(p, g []float64) { selfLabelGrad(p, g, target, weight, o.K, r.Confident) }); err != nil {
				return nil, fmt.Errorf("refine: self-labelling: %w", err)
			}
		}
	}
	r.Assigned = argmaxRows(h.probs(), n, o.K)
	return r, nil
}

// refineCandidate is one start's refinement before self-labelling.
type refineCandidate struct {
	h        *head
	initial  []int32 // the k-means clustering it started from
	assigned []int32 // its clustering; PickAgreement only
	loss     float64 // SCAN loss after the consistency steps
}

// pickRefinement returns the index of the candidate that pick keeps: the
// lowest loss, or the highest mean NMI with the other candidates'
// clusterings (ties, and a single candidate, to the lowest loss; the
// first of equal losses).
func pickRefinement(cands []refineCandidate, pick Pick) int {
	lowest := 0
	for i, c := range cands {
		if c.loss < cands[lowest].loss {
			lowest = i
		}
	}
	if pick != PickAgreement || len(cands) < 3 {
		// With two starts the agreement is symmetric: the loss decides.
		return lowest
	}
	kept, keptAgree := lowest, math.Inf(-1)
	for i, c := range cands {
		var agree float64
		for j, o := range cands {
			if j != i {
				agree += NMI(c.assigned, o.assigned)
			}
		}
		// Equal partitions under other ids can differ in the last bits.
		const eps = 1e-9
		if agree > keptAgree+eps || agree > keptAgree-eps && c.loss < cands[kept].loss {
			kept, keptAgree = i, agree
		}
	}
	return kept
}

// Assign clusters new rows (m x d) with the fitted head: normalised as
// the fitted rows were, diffused over their neighbours among the fitted
// rows (never each other), then the head's most probable cluster.
func (r *Refinement) Assign(ctx context.Context, x []float32, m int) ([]int32, error) {
	if err := checkMatrix(x, m, r.d); err != nil {
		return nil, fmt.Errorf("refine: assign: %w", err)
	}
	xs := prepareRows(x, m, r.d, r.opts.Raw)
	if r.opts.Diffuse > 0 {
		nb, err := r.knn.SearchMany(ctx, xs, m, r.opts.Neighbours, false)
		if err != nil {
			return nil, fmt.Errorf("refine: assign: %w", err)
		}
		// The fitted rows' diffusion ran Diffuse steps; the new rows take
		// one step towards their (fully diffused) neighbours per step, as
		// the fitted rows did towards theirs.
		for range r.opts.Diffuse {
			xs = diffuse(xs, r.train, nb, m, r.d, r.opts)
		}
	}
	h := head{x: xs, n: m, d: r.d, k: r.opts.K, w: r.W, b: r.B}
	return argmaxRows(h.probs(), m, r.opts.K), nil
}

// prepareRows copies x, its rows L2-normalised unless raw.
func prepareRows(x []float32, n, d int, raw bool) []float32 {
	xs := append([]float32(nil), x[:n*d]...)
	if !raw {
		for i := range n {
			Normalise(xs[i*d : (i+1)*d])
		}
	}
	return xs
}

// Normalise scales row to unit Euclidean length in place (a zero row
// stays zero): how the refinement, and eval's --refine-pixels, put rows
// of different scales on one footing.
func Normalise(row []float32) {
	var s float64
	for _, v := range row {
		s += float64(v) * float64(v)
	}
	if s > 0 {
		f := float32(1 / math.Sqrt(s))
		for j := range row {
			row[j] *= f
		}
	}
}

// diffuse returns one diffusion step of the n rows of x towards the mean of
// their neighbours (nb, rows of base).
func diffuse(x, base []float32, nb []int32, n, d int, o RefineOptions) []float32 {
	out := make([]float32, n*d)
	a := float32(o.Alpha)
	par.For(n, par.Threads(), func(lo, hi int) {
		mean := make([]float32, d)
		for i := lo; i < hi; i++ {
			clear(mean)
			cnt := 0
			for _, j := range nb[i*o.Neighbours : (i+1)*o.Neighbours] {
				if j < 0 {
					continue
				}
				cnt++
				for t, v := range base[int(j)*d : int(j+1)*d] {
					mean[t] += v
				}
			}
			row := out[i*d : (i+1)*d]
			for t := range row {
				m := x[i*d+t]
				if cnt > 0 {
					m = (1-a)*m + a*mean[t]/float32(cnt)
				}
				row[t] = m
			}
			if !o.Raw {
				Normalise(row)
			}
		}
	})
	return out
}

// head is a linear softmax classifier over fixed rows, trained full-batch.
// Its weights and Adam's moments are float64; the two products over the
// rows (the logits X W and the weight gradient X^T dz) run in float32 on
// the package's Sgemm, which is what makes a thousand full-batch steps
// over 10,000 rows take seconds rather than minutes.
type head struct {
	x       []float32
	n, d, k int
	w, b    []float64
}

// probs returns the n x k softmax probabilities.
func (h *head) probs() []float64 {
	w32 := make([]float32, len(h.w))
	for i, v := range h.w {
		w32[i] = float32(v)
	}
	logits := make([]float32, h.n*h.k)
	Sgemm(false, false, h.n, h.k, h.d, 1, h.x, h.d, w32, h.k, 0, logits, h.k)
	p := make([]float64, h.n*h.k)
	par.For(h.n, par.Threads(), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := p[i*h.k : (i+1)*h.k]
			for c, v := range logits[i*h.k : (i+1)*h.k] {
				row[c] = float64(v) + h.b[c]
			}
			softmax(row)
		}
	})
	return p
}

// fit runs steps of Adam on the head; lossGrad fills g (n x k) with the
// gradient of the loss with respect to the probabilities p.
func (h *head) fit(ctx context.Context, steps int, lr float64, lossGrad func(p, g []float64)) error {
	nw := len(h.w) + len(h.b)
	m, v := make([]float64, nw), make([]float64, nw)
	g := make([]float64, h.n*h.k)
	dz := make([]float32, h.n*h.k)
	dw := make([]float32, len(h.w))
	const b1, b2, eps = 0.9, 0.999, 1e-8
	for t := 1; t <= steps; t++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := h.probs()
		clear(g)
		lossGrad(p, g)
		db := h.grad(p, g, dz, dw)
		c1, c2 := 1-math.Pow(b1, float64(t)), 1-math.Pow(b2, float64(t))
		for q := range nw {
			var gq float64
			if q < len(h.w) {
				gq = float64(dw[q])
			} else {
				gq = db[q-len(h.w)]
			}
			m[q] = b1*m[q] + (1-b1)*gq
			v[q] = b2*v[q] + (1-b2)*gq*gq
			step := lr * (m[q] / c1) / (math.Sqrt(v[q]/c2) + eps)
			if q < len(h.w) {
				h.w[q] -= step
			} else {
				h.b[q-len(h.w)] -= step
			}
		}
	}
	return nil
}

// grad turns g, the gradient of the loss with respect to the
// probabilities p, into the gradient with respect to the weights, written
// to dw (d x k; dz, n x k, is scratch), and returns the one with respect
// to the biases. Through the softmax, dz = p * (g - g.p); then
// dW = X^T dz and dB = the column sums of dz.
func (h *head) grad(p, g []float64, dz, dw []float32) (db []float64) {
	par.For(h.n, par.Threads(), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			pr, gr := p[i*h.k:(i+1)*h.k], g[i*h.k:(i+1)*h.k]
			var s float64
			for c := range pr {
				s += pr[c] * gr[c]
			}
			for c := range pr {
				dz[i*h.k+c] = float32(pr[c] * (gr[c] - s))
			}
		}
	})
	Sgemm(true, false, h.d, h.k, h.n, 1, h.x, h.d, dz, h.k, 0, dw, h.k)
	db = make([]float64, h.k)
	for i := range h.n {
		for c, z := range dz[i*h.k : (i+1)*h.k] {
			db[c] += float64(z)
		}
	}
	return db
}

// neighbourGraph is the nearest-neighbour graph that SCAN's loss runs
// over: nb holds each row's kn neighbours (-1: none), and
// edges[start[j]:start[j+1]] the edges (i*kn + t) that point at row j, so
// that the gradient can be gathered row by row in parallel instead of
// scattered.
type neighbourGraph struct {
	nb           []int32
	n, kn        int
	start, edges []int32
}

// newNeighbourGraph indexes the edges of nb (n rows of kn neighbours) by
// the row they point at.
func newNeighbourGraph(nb []int32, n, kn int) *neighbourGraph {
	g := &neighbourGraph{nb: nb, n: n, kn: kn, start: make([]int32, n+1)}
	for _, j := range nb[:n*kn] {
		if j >= 0 {
			g.start[j+1]++
		}
	}
	for j := range n {
		g.start[j+1] += g.start[j]
	}
	g.edges = make([]int32, g.start[n])
	next := append([]int32(nil), g.start[:n]...)
	for e, j := range nb[:n*kn] {
		if j >= 0 {
			g.edges[next[j]] = int32(e)
			next[j]++
		}
	}
	return g
}

// scanGrad is the gradient, with respect to the probabilities, of SCAN's
// loss: -mean over (i, j in N(i)) of log(p_i.p_j), minus weight times the
// entropy of the mean probability. Each edge's 1/(p_i.p_j) is computed
// once, row by row; then each row gathers the edges from and to it.
func scanGrad(p, g []float64, gr *neighbourGraph, k int, weight float64) {
	n, kn := gr.n, gr.kn
	scale := 1 / float64(n*kn)
	inv := make([]float64, n*kn)
	par.For(n, par.Threads(), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			pi, gi := p[i*k:(i+1)*k], g[i*k:(i+1)*k]
			for t, j32 := range gr.nb[i*kn : (i+1)*kn] {
				if j32 < 0 {
					continue
				}
				pj := p[int(j32)*k : (int(j32)+1)*k]
				var s float64
				for c := range pi {
					s += pi[c] * pj[c]
				}
				r := scale / max(s, 1e-12)
				inv[i*kn+t] = r
				for c := range gi {
					gi[c] -= r * pj[c]
				}
			}
		}
	})
	par.For(n, par.Threads(), func(lo, hi int) {
		for j := lo; j < hi; j++ {
			gj := g[j*k : (j+1)*k]
			for _, e := range gr.edges[gr.start[j]:gr.start[j+1]] {
				r, i := inv[e], int(e)/kn
				for c, v := range p[i*k : (i+1)*k] {
					gj[c] -= r * v
				}
			}
		}
	})
	mean := meanProb(p, n, k)
	// d/dp_i of weight * sum_c mean_c log mean_c.
	dc := make([]float64, k)
	for c := range mean {
		dc[c] = weight * (math.Log(max(mean[c], 1e-12)) + 1) / float64(n)
	}
	par.For(n, par.Threads(), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			for c, v := range dc {
				g[i*k+c] += v
			}
		}
	})
}

// selfLabelGrad is the gradient, with respect to the probabilities, of the
// weighted cross-entropy of the confident rows (target >= 0) on their
// targets, averaged over the confident rows.
func selfLabelGrad(p, g []float64, target []int32, weight []float64, k, confident int) {
	for i, t := range target {
		if t < 0 {
			continue
		}
		g[i*k+int(t)] -= weight[t] / float64(confident) / max(p[i*k+int(t)], 1e-12)
	}
}

func softmax(row []float64) {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = max(mx, v)
	}
	var s float64
	for c, v := range row {
		row[c] = math.Exp(v - mx)
		s += row[c]
	}
	for c := range row {
		row[c] /= s
	}
}

func argmax(row []float64) int {
	best := 0
	for c, v := range row {
		if v > row[best] {
			best = c
		}
	}
	return best
}

func argmaxRows(p []float64, n, k int) []int32 {
	out := make([]int32, n)
	for i := range n {
		out[i] = int32(argmax(p[i*k : (i+1)*k]))
	}
	return out
}

// refineStart is the clustering refinement number start begins from:
// o.Start's groups, or the best (lowest objective) of o.Restarts k-means++
// runs seeded after the earlier starts' seeds.
func refineStart(ctx context.Context, x []float32, n, d int, o RefineOptions, start int) (*KMeansResult, error) {
	if o.Start != nil {
		best, err := groupMeans(x, n, d, o.K, o.Start)
		if err != nil {
			return nil, fmt.Errorf("refine: start: %w", err)
		}
		return best, nil
	}
	var best *KMeansResult
	restarts := max(o.Restarts, 1)
	for s := range restarts {
		km, err := KMeans(ctx, x, n, d, KMeansOptions{K: o.K, Iters: 100, Init: InitPlusPlus, Seed: startSeed(o.Seed, start*restarts+s)})
		if err != nil {
			return nil, fmt.Errorf("refine: k-means: %w", err)
		}
		if best == nil || km.Objective < best.Objective {
			best = km
		}
	}
	return best, nil
}

// startSeed is the k-means seed of run i (start*Restarts + restart) of
// the refinement seeded by seed: seed<<32 + i, so that two seeds share no
// run while a seed has fewer than 2^32 of them.
func startSeed(seed uint64, i int) uint64 { return seed<<32 + uint64(i) }

// kmeansHead returns the weights (d x K) and biases of a softmax head that
// starts as the clustering km: logits -|x - c|^2 / (Temperature * the mean
// squared distance to the own centroid), which is 2 x.c - |c|^2 over the
// same scale (|x|^2 is the same for every cluster).
func kmeansHead(km *KMeansResult, n, d int, o RefineOptions) (w, b []float64) {
	scale := o.Temperature * max(km.Objective/float64(n), 1e-12)
	w, b = make([]float64, d*o.K), make([]float64, o.K)
	for c := range o.K {
		cen := km.Centroids[c*d : (c+1)*d]
		var s float64
		for j, v := range cen {
			s += float64(v) * float64(v)
			w[j*o.K+c] = 2 * float64(v) / scale
		}
		b[c] = -s / scale
	}
	return w, b
}

// meanProb is the mean over the n rows of p (n x k) of each cluster's
// probability: the distribution whose entropy SCAN's loss maximises.
func meanProb(p []float64, n, k int) []float64 {
	mean := make([]float64, k)
	for i := range n {
		for c, v := range p[i*k : (i+1)*k] {
			mean[c] += v / float64(n)
		}
	}
	return mean
}

// scanLoss is SCAN's loss (scanGrad is its gradient): -mean over (i, j in
// N(i)) of log(p_i.p_j), minus weight times the entropy of the mean
// probability.
func scanLoss(p []float64, nb []int32, n, k, kn int, weight float64) float64 {
	var sum float64
	for i := range n {
		pi := p[i*k : (i+1)*k]
		for _, j32 := range nb[i*kn : (i+1)*kn] {
			if j32 < 0 {
				continue
			}
			pj := p[int(j32)*k : (int(j32)+1)*k]
			var s float64
			for c := range pi {
				s += pi[c] * pj[c]
			}
			sum -= math.Log(max(s, 1e-12))
		}
	}
	mean := meanProb(p, n, k)
	var negEntropy float64
	for _, m := range mean {
		negEntropy += m * math.Log(max(m, 1e-12))
	}
	return sum/float64(max(n*kn, 1)) + weight*negEntropy
}

// groupMeans returns the clustering of the n rows of x given by labels
// (in [0, k)) as a KMeansResult: the groups' means and the sum of squared
// distances to them.
func groupMeans(x []float32, n, d, k int, labels []int32) (*KMeansResult, error) {
	if len(labels) != n {
		return nil, fmt.Errorf("%w: %d labels for %d rows", ErrBadInput, len(labels), n)
	}
	sum := make([]float64, k*d)
	res := &KMeansResult{Centroids: make([]float32, k*d), Assign: labels, Sizes: make([]int, k)}
	for i, c := range labels {
		if c < 0 || int(c) >= k {
			return nil, fmt.Errorf("%w: label %d of row %d, want [0, %d)", ErrBadInput, c, i, k)
		}
		res.Sizes[c]++
		for j, v := range x[i*d : (i+1)*d] {
			sum[int(c)*d+j] += float64(v)
		}
	}
	for c, m := range res.Sizes {
		if m == 0 {
			return nil, fmt.Errorf("%w: cluster %d of %d has no rows", ErrBadInput, c, k)
		}
		for j := range d {
			res.Centroids[c*d+j] = float32(sum[c*d+j] / float64(m))
		}
	}
	for i, c := range labels {
		for j, v := range x[i*d : (i+1)*d] {
			e := float64(v - res.Centroids[int(c)*d+j])
			res.Objective += e * e
		}
	}
	return res, nil
}

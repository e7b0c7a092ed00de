package trainer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/cluster"
	"gonum.org/v1/gonum/optimize"
)

// ProbeConfig tunes the linear probe.
type ProbeConfig struct {
	// L2 is the ridge penalty on the weights (not the bias), on
	// standardised features (default 1e-4, the value of the earlier probe; not tuned).
	L2 float64
	// MaxIters caps the L-BFGS iterations (default 2000); a probe that
	// reaches it reports Converged false.
	MaxIters int
	// GradTol is the gradient norm at which the fit counts as converged
	// (default 1e-5).
	GradTol float64
}

// ProbeResult is the accuracy of the probe on the split it was fitted on
// and on the held-out split, and how the fit ended.
type ProbeResult struct {
	TrainAcc, TestAcc float64
	// Loss is the final penalised mean cross-entropy on the train split.
	Loss float64
	// Iters is the number of L-BFGS iterations; Converged says whether the
	// gradient norm fell under GradTol (or the loss stopped moving) before
	// MaxIters.
	Iters     int
	Converged bool
}

// LinearProbe fits a multinomial logistic regression on frozen features
// (the paper's main evaluation) to convergence: features are standardised
// with the train split's mean and deviation, then L-BFGS (gonum's optimize)
// minimises the mean cross-entropy plus an L2 penalty until the gradient
// vanishes. Matrix products use the clustering engine's Sgemm.
func LinearProbe(ctx context.Context, trainX []float32, trainY []int32, testX []float32, testY []int32, d, classes int, pc ProbeConfig) (ProbeResult, error) {
	var res ProbeResult
	n, nt := len(trainY), len(testY)
	if n == 0 || len(trainX) != n*d || len(testX) != nt*d || classes < 2 {
		return res, fmt.Errorf("probe: %d train rows of %d values, %d test rows of %d values for d=%d, %d classes", n, len(trainX), nt, len(testX), d, classes)
	}
	for i, y := range trainY {
		if y < 0 || int(y) >= classes {
			return res, fmt.Errorf("probe: train label %d of row %d outside [0,%d)", y, i, classes)
		}
	}
	if pc.L2 == 0 {
		pc.L2 = 1e-4
	}
	if pc.MaxIters == 0 {
		pc.MaxIters = 2000
	}
	if pc.GradTol == 0 {
		pc.GradTol = 1e-5
	}
	mean, std := make([]float64, d), make([]float64, d)
	for i := range n {
		for j := range d {
			mean[j] += float64(trainX[i*d+j])
		}
	}
	for j := range d {
		mean[j] /= float64(n)
	}
	for i := range n {
		for j := range d {
			v := float64(trainX[i*d+j]) - mean[j]
			std[j] += v * v
		}
	}
	for j := range d {
		std[j] = math.Sqrt(std[j]/float64(n)) + 1e-6
	}
	standardise := func(x []float32, rows int) []float32 {
		out := make([]float32, rows*d+rows) // one extra column of ones: the bias
		for i := range rows {
			for j := range d {
				out[i*(d+1)+j] = float32((float64(x[i*d+j]) - mean[j]) / std[j])
			}
			out[i*(d+1)+d] = 1
		}
		return out
	}
	X, XT := standardise(trainX, n), standardise(testX, nt)
	D := d + 1
	W := make([]float32, D*classes)
	P := make([]float32, n*classes)
	G := make([]float32, D*classes)
	// loss evaluates the objective and its gradient at w (D x classes,
	// row-major, the last row the bias).
	loss := func(w, grad []float64) float64 {
		for j := range W {
			W[j] = float32(w[j])
		}
		cluster.Sgemm(false, false, n, classes, D, 1, X, D, W, classes, 0, P, classes)
		softmaxRows(P, classes)
		var ce float64
		for i, y := range trainY {
			ce -= math.Log(max(float64(P[i*classes+int(y)]), 1e-30))
			P[i*classes+int(y)]--
		}
		f := ce / float64(n)
		cluster.Sgemm(true, false, D, classes, n, 1/float32(n), X, D, P, classes, 0, G, classes)
		for j := range w {
			reg := pc.L2
			if j >= d*classes { // the bias row
				reg = 0
			}
			f += 0.5 * reg * w[j] * w[j]
			if grad != nil {
				grad[j] = float64(G[j]) + reg*w[j]
			}
		}
		return f
	}
	var ctxErr error
	// L-BFGS asks for the value and the gradient at the same point in two
	// calls; one evaluation gives both, so the last one is kept.
	lastW, lastG := make([]float64, D*classes), make([]float64, D*classes)
	lastF, have := 0.0, false
	eval := func(w []float64) {
		if !have || !slices.Equal(w, lastW) {
			lastF = loss(w, lastG)
			copy(lastW, w)
			have = true
		}
	}
	p := optimize.Problem{
		Func: func(w []float64) float64 { eval(w); return lastF },
		Grad: func(grad, w []float64) { eval(w); copy(grad, lastG) },
		Status: func() (optimize.Status, error) {
			if err := ctx.Err(); err != nil {
				ctxErr = err
				return optimize.Failure, err
			}
			return optimize.NotTerminated, nil
		},
	}
	result, err := optimize.Minimize(p, make([]float64, D*classes),
		&optimize.Settings{GradientThreshold: pc.GradTol, MajorIterations: pc.MaxIters,
			Converger: &optimize.FunctionConverge{Absolute: 1e-9, Relative: 1e-9, Iterations: 20}},
		&optimize.LBFGS{})
	if ctxErr != nil {
		return res, ctxErr
	}
	if err != nil && result == nil {
		return res, fmt.Errorf("probe: %w", err)
	}
	for j := range W {
		W[j] = float32(result.X[j])
	}
	res.Loss, res.Iters = result.F, result.Stats.MajorIterations
	res.Converged = result.Status == optimize.GradientThreshold || result.Status == optimize.FunctionConvergence
	acc := func(x []float32, y []int32) float64 {
		if len(y) == 0 {
			return math.NaN()
		}
		out := make([]float32, len(y)*classes)
		cluster.Sgemm(false, false, len(y), classes, D, 1, x, D, W, classes, 0, out, classes)
		hit := 0
		for i := range y {
			best := 0
			for c := range classes {
				if out[i*classes+c] > out[i*classes+best] {
					best = c
				}
			}
			if int32(best) == y[i] {
				hit++
			}
		}
		return float64(hit) / float64(len(y))
	}
	res.TrainAcc = acc(X, trainY)
	res.TestAcc = acc(XT, testY)
	return res, nil
}

func softmaxRows(p []float32, c int) {
	for i := 0; i < len(p); i += c {
		row := p[i : i+c]
		mx := row[0]
		for _, v := range row {
			mx = max(mx, v)
		}
		var z float64
		for j, v := range row {
			e := math.Exp(float64(v - mx))
			row[j] = float32(e)
			z += e
		}
		for j := range row {
			row[j] = float32(float64(row[j]) / z)
		}
	}
}

// Labels returns every label of a dataset, or an error when it has none.
func Labels(ds deepercluster.Dataset) ([]int32, int, error) {
	out := make([]int32, ds.Len())
	classes := 0
	for i := range out {
		l, ok := ds.Label(i)
		if !ok {
			return nil, 0, errors.New("dataset has no labels")
		}
		out[i] = int32(l)
		classes = max(classes, l+1)
	}
	return out, classes, nil
}

// ClusterScores are the deep-clustering literature's measures of a
// clustering against labels.
type ClusterScores struct {
	NMI, ACC, ARI float64
}

// KMeansScores clusters L2-normalised features into k clusters, keeping the
// run with the lowest objective out of restarts k-means++ starts (labels
// unseen, as scikit-learn's n_init), and scores it against labels: how much
// class structure the features hold without any supervision. It also
// returns the clusters.
func KMeansScores(ctx context.Context, feats []float32, n, d, k int, labels []int32, seed uint64, restarts int) (ClusterScores, []int32, error) {
	x := append([]float32(nil), feats...)
	for i := range n {
		var s float64
		for _, v := range x[i*d : (i+1)*d] {
			s += float64(v) * float64(v)
		}
		if s > 0 {
			f := float32(1 / math.Sqrt(s))
			for j := range d {
				x[i*d+j] *= f
			}
		}
	}
	// k-means with k=10 has poor local optima: one start makes the NMI vary
	// by a few hundredths between seeds, as much as the effect measured.
	var best *cluster.KMeansResult
	for r := range max(restarts, 1) {
		res, err := cluster.KMeans(ctx, x, n, d, cluster.KMeansOptions{K: k, Iters: 100, Init: cluster.InitPlusPlus, Seed: seed + uint64(r)})
		if err != nil {
			return ClusterScores{}, nil, err
		}
		if best == nil || res.Objective < best.Objective {
			best = res
		}
	}
	sc := ClusterScores{NMI: cluster.NMI(best.Assign, labels), ACC: cluster.Accuracy(best.Assign, labels), ARI: cluster.ARI(best.Assign, labels)}
	return sc, best.Assign, nil
}

// ReestimateBN gives a network the batch-norm running statistics of its
// own weights: steps forward passes in training mode over batches drawn
// from ds (no augmentation, no rotation), at learning rate 0, so every
// weight stays as it was and only the running means and variances move
// (momentum 0.1 a batch: after 200 batches the initial 0/1 weigh 0.9^200).
// An untrained network evaluated without it has running mean 0 and
// variance 1, that is no normalisation at all: an unfair baseline.
func ReestimateBN(ctx context.Context, net Backend, ds deepercluster.Dataset, steps int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0xb4))
	if err := net.SetHeads(4, 1, rng); err != nil {
		return fmt.Errorf("re-estimate batch norm: %w", err)
	}
	net.SetLR(0)
	bs, res := net.BatchSize(), ds.Resolution()
	per := 3 * res * res
	raw := make([]byte, per)
	b := &Batch{X: make([]float32, bs*per), Super: make([]int, bs), Sub: make([]int, bs)}
	for s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		for j := range bs {
			i := rng.IntN(ds.Len())
			if err := ds.Image(i, raw); err != nil {
				return fmt.Errorf("re-estimate batch norm: image %d: %w", i, err)
			}
			toCHW(b.X[j*per:(j+1)*per], raw, res)
		}
		if _, err := net.Step(b); err != nil {
			return fmt.Errorf("re-estimate batch norm: step %d: %w", s, err)
		}
	}
	return nil
}

// BNBatch is the batch of the training-mode passes of ReestimateBN.
const BNBatch = 64

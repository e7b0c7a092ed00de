package trainer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/cluster"
)

// ProbeConfig tunes the linear probe.
type ProbeConfig struct {
	// Iters is the number of full-batch gradient steps (default 300).
	Iters int
	// LR is the step size on standardised features (default 0.5), with
	// Nesterov-free heavy-ball momentum 0.9.
	LR float64
	// L2 is the ridge penalty on the weights (default 1e-4).
	L2 float64
}

// ProbeResult is the accuracy of the probe on the split it was fitted on
// and on the held-out split.
type ProbeResult struct {
	TrainAcc, TestAcc float64
}

// LinearProbe fits a multinomial logistic regression on frozen features
// (the paper's main evaluation): features are standardised with the train
// split's mean and deviation, then full-batch gradient descent with
// momentum minimises the mean cross-entropy plus an L2 penalty. Matrix
// products use the clustering engine's Sgemm.
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
	if pc.Iters == 0 {
		pc.Iters = 300
	}
	if pc.LR == 0 {
		pc.LR = 0.5
	}
	if pc.L2 == 0 {
		pc.L2 = 1e-4
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
	V := make([]float32, D*classes)
	P := make([]float32, n*classes)
	G := make([]float32, D*classes)
	for it := range pc.Iters {
		if it%20 == 0 {
			if err := ctx.Err(); err != nil {
				return res, err
			}
		}
		cluster.Sgemm(false, false, n, classes, D, 1, X, D, W, classes, 0, P, classes)
		softmaxRows(P, classes)
		for i, y := range trainY {
			P[i*classes+int(y)]--
		}
		cluster.Sgemm(true, false, D, classes, n, 1/float32(n), X, D, P, classes, 0, G, classes)
		for j := range W {
			g := G[j] + float32(pc.L2)*W[j]
			V[j] = 0.9*V[j] - float32(pc.LR)*g
			W[j] += V[j]
		}
	}
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

// KMeansNMI clusters L2-normalised features into k clusters (best of a few
// k-means++ starts) and returns
// the NMI of the clusters against labels: how much class structure the
// features hold without any supervision.
func KMeansNMI(ctx context.Context, feats []float32, n, d, k int, labels []int32, seed uint64) (float64, error) {
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
	// Keep the best of kmeansRestarts k-means++ starts (lowest objective,
	// labels unseen), as sklearn's n_init does; learned and random-init
	// features get the same treatment.
	var best *cluster.KMeansResult
	for r := range kmeansRestarts {
		res, err := cluster.KMeans(ctx, x, n, d, cluster.KMeansOptions{K: k, Iters: 50, Init: cluster.InitPlusPlus, Seed: seed + uint64(r)})
		if err != nil {
			return 0, err
		}
		if best == nil || res.Objective < best.Objective {
			best = res
		}
	}
	return cluster.NMI(best.Assign, labels), nil
}

// kmeansRestarts is the number of k-means starts KMeansNMI keeps the best of.
const kmeansRestarts = 5

// LoadBackend rebuilds a run's network from its checkpoint for
// evaluation, on the backend newBackend makes (nil: NewCPUBackend). With
// randomInit the weights are those the run started from (same model, same
// seed), untrained: the baseline of the linear probe. The heads are not
// loaded: evaluation only extracts features.
func LoadBackend(dir string, extractBatch int, randomInit bool, newBackend NewBackendFunc) (Backend, *Checkpoint, error) {
	ck, err := LoadCheckpoint(dir)
	if err != nil {
		return nil, nil, err
	}
	if newBackend == nil {
		newBackend = NewCPUBackend
	}
	model, err := newBackend(BackendConfig{Model: ck.Model, Batch: 2, ExtractBatch: extractBatch, Seed: ck.Seed})
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	if !randomInit {
		trunkOnly := ck.State()
		trunkOnly.HeadS, trunkOnly.HeadK = 0, 0
		if err := model.LoadState(trunkOnly); err != nil {
			model.Close()
			return nil, nil, fmt.Errorf("checkpoint %s: %w", filepath.Join(dir, CheckpointFile), err)
		}
	}
	return model, ck, nil
}

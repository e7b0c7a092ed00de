// Command bench-gpu is our side of the GPU benchmark (scripts/gpu-check.sh):
// the GPU backend's training steps and feature extraction on the network
// that bench/gpu/torch_gpu.py times in PyTorch (trainer.DefaultModelConfig
// at 32 and 64 px, batch 256, 16 super-classes and k = 16, SGD momentum 0.9,
// weight decay 1e-5), and one k-means assignment plus centroid update of
// 1,000,000 x 256 points to 10,000 centroids. It prints one JSON line last
// on stdout: train_ips, extract_ips, train_ips_64, extract_ips_64 (images
// per second, wall) and kmeans_1m_s. -quick shrinks every size, to check
// the program on PoCL.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/deepercluster/deepercluster/bench/internal/benchstat"
	"github.com/deepercluster/deepercluster/gpu"
	"github.com/deepercluster/deepercluster/gpu/device"
	"github.com/deepercluster/deepercluster/trainer"
)

func main() {
	kind := flag.String("device", "cuda", "cuda, opencl or auto (device.Open's names)")
	steps := flag.Int("steps", 30, "timed steps (and extraction batches) per figure")
	warmup := flag.Int("warmup", 5, "untimed steps first (the first builds and records)")
	quick := flag.Bool("quick", false, "small sizes everywhere, to check the program on PoCL")
	noKMeans := flag.Bool("no-kmeans", false, "skip the k-means figure")
	flag.Parse()
	res, err := run(*kind, *steps, *warmup, *quick, !*noKMeans)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-gpu:", err)
		os.Exit(1)
	}
	benchstat.Machine(0).AddTo(res) // the host CPU beside the GPU figures
	b, err := json.Marshal(res)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-gpu:", err)
		os.Exit(1)
	}
	fmt.Println(string(b))
}

func run(kind string, steps, warmup int, quick, kmeans bool) (map[string]any, error) {
	dev, err := device.Open(kind)
	if err != nil {
		return nil, err
	}
	defer dev.Close()
	res := map[string]any{"device": dev.Name(), "kind": dev.Kind(), "memory_bytes": dev.MemoryBytes()}
	batch := 256
	if quick {
		batch = 8
	}
	res["batch"] = batch
	for _, r := range []int{32, 64} {
		train, extract, err := model(dev, r, batch, steps, warmup)
		if err != nil {
			return nil, fmt.Errorf("%d px: %w", r, err)
		}
		suffix := ""
		if r == 64 {
			suffix = "_64"
		}
		res["train_ips"+suffix], res["extract_ips"+suffix] = round(train), round(extract)
		fmt.Fprintf(os.Stderr, "%d px batch %d: train %.0f images/s, extract %.0f images/s\n", r, batch, train, extract)
	}
	if kmeans {
		n, d, k := 1_000_000, 256, 10_000
		if quick {
			n, d, k = 20_000, 32, 100
		}
		s, err := kmeansStep(dev, n, d, k)
		if err != nil {
			return nil, fmt.Errorf("k-means: %w", err)
		}
		name := "kmeans_1m_s"
		if quick {
			name = "kmeans_quick_s"
		}
		res[name] = round(s)
		fmt.Fprintf(os.Stderr, "k-means %d x %d to %d: %.3f s\n", n, d, k, s)
	}
	return res, nil
}

func round(v float64) float64 {
	switch {
	case v >= 100:
		return float64(int64(v + 0.5))
	default:
		return float64(int64(v*1000+0.5)) / 1000
	}
}

// model times training steps and extraction of batch images at res px.
func model(dev device.Device, res, batch, steps, warmup int) (trainIPS, extractIPS float64, err error) {
	cfg := trainer.BackendConfig{Model: trainer.DefaultModelConfig(res), Batch: batch, LR: 0.01, Momentum: 0.9, WeightDecay: 1e-5, Seed: 1}
	be, err := gpu.NewBackend(dev, cfg)
	if err != nil {
		return 0, 0, err
	}
	defer be.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	const s, k = 16, 16
	if err := be.SetHeads(s, k, rng); err != nil {
		return 0, 0, err
	}
	bt := &trainer.Batch{X: make([]float32, batch*3*res*res), Super: make([]int, batch), Sub: make([]int, batch)}
	for i := range bt.X {
		bt.X[i] = float32(rng.NormFloat64())
	}
	for i := range batch {
		bt.Super[i], bt.Sub[i] = rng.IntN(s), rng.IntN(k)
	}
	for range warmup {
		if _, err := be.Step(bt); err != nil {
			return 0, 0, err
		}
	}
	t0 := time.Now()
	for range steps {
		if _, err := be.Step(bt); err != nil {
			return 0, 0, err
		}
	}
	trainIPS = float64(batch*steps) / time.Since(t0).Seconds()
	feats := make([]float32, batch*be.FeatureDim())
	for range warmup {
		if err := be.Extract(bt.X, batch, feats); err != nil {
			return 0, 0, err
		}
	}
	t0 = time.Now()
	for range steps {
		if err := be.Extract(bt.X, batch, feats); err != nil {
			return 0, 0, err
		}
	}
	extractIPS = float64(batch*steps) / time.Since(t0).Seconds()
	return trainIPS, extractIPS, nil
}

// kmeansStep times one assignment and one centroid update of n random
// points of d dimensions to k centroids (the points already on the device,
// as they are between the iterations of a clustering).
func kmeansStep(dev device.Device, n, d, k int) (float64, error) {
	rng := rand.New(rand.NewPCG(2, 2))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	cent := append([]float32(nil), x[:k*d]...)
	km, err := gpu.NewKMeans(dev, x, n, d)
	if err != nil {
		return 0, err
	}
	defer km.Close()
	labels := make([]int32, n)
	// one untimed round: kernel builds and JIT
	if _, err := km.Assign(cent, k, labels); err != nil {
		return 0, err
	}
	t0 := time.Now()
	if _, err := km.Assign(cent, k, labels); err != nil {
		return 0, err
	}
	sizes, err := km.Update(labels, cent, k)
	if err != nil {
		return 0, err
	}
	s := time.Since(t0).Seconds()
	total := 0
	for _, c := range sizes {
		total += c
	}
	if total != n {
		return 0, errors.New("cluster sizes do not add up to the points")
	}
	return s, nil
}

package gpu

import (
	"errors"
	"github.com/deepercluster/deepercluster/gpu/device"
	"math/rand/v2"
	"testing"

	"github.com/deepercluster/deepercluster/trainer"
	"github.com/deepercluster/deepercluster/trainer/backendtest"
)

// benchStep measures one training step of a tiny model (32 px, width 8,
// batch 16) on the backend made by mk.
func benchStep(b *testing.B, be trainer.Backend) {
	rng := rand.New(rand.NewPCG(1, 1))
	const s, k = 16, 4
	if err := be.SetHeads(s, k, rng); err != nil {
		b.Fatal(err)
	}
	batch := backendtest.RandomBatch(rng, be.BatchSize(), 32, s, k)
	if _, err := be.Step(batch); err != nil { // builds and records
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := be.Step(batch); err != nil {
			b.Fatal(err)
		}
	}
}

func benchConfig() trainer.BackendConfig {
	return trainer.BackendConfig{Model: trainer.ModelConfig{Resolution: 32, Width: 8, Depth: 3, ConvsPerStage: 2, Hidden: 64},
		Batch: 16, LR: 0.01, Momentum: 0.9, WeightDecay: 1e-4, Seed: 1}
}

func BenchmarkOpenCLStep(b *testing.B) {
	dev := openTestDevice(b)
	defer dev.Close()
	be, err := NewBackend(dev, benchConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	benchStep(b, be)
}

func BenchmarkCPUStep(b *testing.B) {
	cfg := benchConfig()
	cpu := newCPU(b, cfg)
	defer cpu.Close()
	benchStep(b, cpu)
}

// openCUDABench opens the CUDA GPU or skips: the benchmarks that matter
// run on a GPU (scripts/gpu-check.sh).
func openCUDABench(b *testing.B) device.Device {
	dev, err := device.OpenCUDA()
	if errors.Is(err, device.ErrUnavailable) {
		b.Skipf("no NVIDIA GPU here: %v", err)
	}
	if err != nil {
		b.Fatal(err)
	}
	return dev
}

// BenchmarkCUDAStep is a training step of the default model at 32 px,
// batch 256, on the GPU; images/s = 256 / (ns/op) * 1e9.
func BenchmarkCUDAStep(b *testing.B) {
	dev := openCUDABench(b)
	defer dev.Close()
	cfg := trainer.BackendConfig{Model: trainer.DefaultModelConfig(32), Batch: 256, LR: 0.01, Momentum: 0.9, WeightDecay: 1e-4, Seed: 1}
	be, err := NewBackend(dev, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	benchStep(b, be)
	b.ReportMetric(float64(cfg.Batch)*float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkCUDAKMeans1M is one assignment and one centroid update of
// 1,000,000 points of 256 dimensions to 10,000 centroids.
func BenchmarkCUDAKMeans1M(b *testing.B) {
	dev := openCUDABench(b)
	defer dev.Close()
	const n, d, k = 1_000_000, 256, 10_000
	rng := rand.New(rand.NewPCG(1, 2))
	x := randSlice(rng, n*d)
	cent := append([]float32(nil), x[:k*d]...)
	km, err := NewKMeans(dev, x, n, d)
	if err != nil {
		b.Fatal(err)
	}
	defer km.Close()
	labels := make([]int32, n)
	b.ResetTimer()
	for range b.N {
		if _, err := km.Assign(cent, k, labels); err != nil {
			b.Fatal(err)
		}
		if _, err := km.Update(labels, cent, k); err != nil {
			b.Fatal(err)
		}
	}
}

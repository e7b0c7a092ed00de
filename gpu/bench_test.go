package gpu

import (
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

package trainer

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster/dataset"
)

// The network of `make bench-train`: the default small VGG at 32x32x3 with
// DeeperCluster heads for m=4 (16 super-classes) and k=16; scripts/
// bench-train.sh builds the same network in PyTorch.
func benchNet(b *testing.B, batch, extract int) (*Net, *Batch) {
	rng := rand.New(rand.NewPCG(1, 1))
	trunk, err := trunkFrom(DefaultModelConfig(32), rng)
	if err != nil {
		b.Fatal(err)
	}
	net, err := newNet(trunk, batch, extract, &SGD{LR: 0.01, Momentum: 0.9, WeightDecay: 1e-5})
	if err != nil {
		b.Fatal(err)
	}
	if err := net.setHeads(headsFrom(16, 16, trunk.Cfg.Hidden, rng)); err != nil {
		b.Fatal(err)
	}
	return net, randBatch(rng, batch, 32, 16, 16)
}

func BenchmarkTrainStep(b *testing.B) {
	net, batch := benchNet(b, 64, 2)
	defer net.Close()
	if _, err := net.Step(batch); err != nil { // warm-up
		b.Fatal(err)
	}
	b.ResetTimer()
	t0 := time.Now()
	for range b.N {
		if _, err := net.Step(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*64)/time.Since(t0).Seconds(), "img/s")
}

func BenchmarkExtract(b *testing.B) {
	net, _ := benchNet(b, 2, 256)
	defer net.Close()
	x := make([]float32, 256*3*32*32)
	for i := range x {
		x[i] = float32(i%255) / 255
	}
	out := make([]float32, 256*net.FeatureDim())
	if err := net.Extract(x, 256, out); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	t0 := time.Now()
	for range b.N {
		if err := net.Extract(x, 256, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*256)/time.Since(t0).Seconds(), "img/s")
}

// BenchmarkExtractFeatures is the first Assignment's extraction as `serve`
// runs it: ExtractFeatures over the default synthetic dataset (20,000
// images at 32x32, decoded from the dataset), untrained network.
func BenchmarkExtractFeatures(b *testing.B) {
	ds, err := dataset.NewSynthetic(dataset.DefaultSyntheticConfig())
	if err != nil {
		b.Fatal(err)
	}
	trunk, err := trunkFrom(DefaultModelConfig(ds.Resolution()), rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		b.Fatal(err)
	}
	net, err := newNet(trunk, 64, 32, &SGD{})
	if err != nil {
		b.Fatal(err)
	}
	defer net.Close()
	b.ResetTimer()
	t0 := time.Now()
	for range b.N {
		if _, err := ExtractFeatures(b.Context(), net, ds, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*ds.Len())/time.Since(t0).Seconds(), "img/s")
}

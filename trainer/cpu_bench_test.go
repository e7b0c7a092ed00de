package trainer

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster/dataset/synthetic"
)

// The network of `make bench-train`: the default small VGG at 32x32x3 (and
// 64x64x3) with DeeperCluster heads for m=4 (16 super-classes) and k=16;
// bench/train (what scripts/bench-train.sh times) builds it through the
// Backend interface, the script the same network in PyTorch.
func benchNet(b *testing.B, res, batch int) (*cpuNet, *Batch) {
	rng := rand.New(rand.NewPCG(1, 1))
	trunk, err := trunkFrom(DefaultModelConfig(res), rng)
	if err != nil {
		b.Fatal(err)
	}
	net, err := newNet(trunk, batch, &sgd{LR: 0.01, Momentum: 0.9, WeightDecay: 1e-5})
	if err != nil {
		b.Fatal(err)
	}
	if err := net.setHeads(headsFrom(16, 16, trunk.Cfg.Hidden, rng)); err != nil {
		b.Fatal(err)
	}
	return net, randBatch(rng, batch, res, 16, 16)
}

// cpuSeconds is the user plus system CPU time of the process so far: on a
// shared machine it moves much less with other work than wall time does.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func benchTrain(b *testing.B, res int) {
	net, batch := benchNet(b, res, 64)
	defer net.Close()
	if _, err := net.Step(batch); err != nil { // warm-up
		b.Fatal(err)
	}
	b.ResetTimer()
	t0, c0 := time.Now(), cpuSeconds()
	for range b.N {
		if _, err := net.Step(batch); err != nil {
			b.Fatal(err)
		}
	}
	wall, cpu := time.Since(t0).Seconds(), cpuSeconds()-c0
	b.ReportMetric(float64(b.N*64)/wall, "img/s")
	b.ReportMetric(1e3*cpu/float64(b.N*64), "cpu-ms/img")
}

func BenchmarkTrainStep(b *testing.B)   { benchTrain(b, 32) }
func BenchmarkTrainStep64(b *testing.B) { benchTrain(b, 64) }

func benchExtract(b *testing.B, res int) {
	net, _ := benchNet(b, res, 2)
	defer net.Close()
	x := make([]float32, 256*3*res*res)
	for i := range x {
		x[i] = float32(i%255) / 255
	}
	out := make([]float32, 256*net.FeatureDim())
	if err := net.Extract(x, 256, out); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	t0, c0 := time.Now(), cpuSeconds()
	for range b.N {
		if err := net.Extract(x, 256, out); err != nil {
			b.Fatal(err)
		}
	}
	wall, cpu := time.Since(t0).Seconds(), cpuSeconds()-c0
	b.ReportMetric(float64(b.N*256)/wall, "img/s")
	b.ReportMetric(1e3*cpu/float64(b.N*256), "cpu-ms/img")
}

func BenchmarkExtract(b *testing.B)   { benchExtract(b, 32) }
func BenchmarkExtract64(b *testing.B) { benchExtract(b, 64) }

// BenchmarkExtractFeatures is the first Assignment's extraction as `serve`
// runs it: ExtractFeatures over the default synthetic dataset (20,000
// images at 32x32, decoded from the dataset), untrained network.
func BenchmarkExtractFeatures(b *testing.B) {
	ds, err := synthetic.New(synthetic.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	trunk, err := trunkFrom(DefaultModelConfig(ds.Resolution()), rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		b.Fatal(err)
	}
	net, err := newNet(trunk, 64, &sgd{})
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

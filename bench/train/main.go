// Command benchtrain is the Go side of scripts/bench-train.sh: it times
// training steps and feature extraction of the CPU backend (or, with
// -device opencl|cuda, the GPU backend) through the trainer.Backend
// interface (what `train` and `serve` use), and the
// machine's SGEMM peak with our kernels. Each subcommand prints one JSON
// object: images per second (wall), CPU milliseconds per image (user+system,
// which moves much less than wall time when other work shares the cores),
// effective GFLOP/s and the process's peak RSS.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"syscall"
	"time"

	"github.com/deepercluster/deepercluster/cluster"
	"github.com/deepercluster/deepercluster/gpu"
	"github.com/deepercluster/deepercluster/trainer"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchtrain train|extract|sgemm [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "train", "extract":
		err = model(os.Args[1], os.Args[2:])
	case "sgemm":
		err = sgemmPeak(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtrain:", err)
		os.Exit(1)
	}
}

func emit(v any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

// usage is the process's CPU seconds (user+system), of which system, and
// its peak RSS in MB.
func usage() (cpu, sys, rssMB float64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9, float64(ru.Stime.Nano()) / 1e9, float64(ru.Maxrss) / 1024
}

// convFLOPs is the forward cost (2 x multiply-adds) of the trunk's
// convolutions and fc layers for one image, and the share of it that is
// the first convolution (whose input gradient training skips).
func convFLOPs(cfg trainer.ModelConfig) (fwd, first float64) {
	side, in, ch := cfg.Resolution, 3, cfg.Width
	if cfg.Sobel {
		first = 2 * float64(side*side*27*2)
		fwd, in = first, 2
	}
	for s := range cfg.Depth {
		for c := range cfg.ConvsPerStage {
			f := 2 * float64(side*side*9*in*ch)
			if s == 0 && c == 0 && !cfg.Sobel {
				first = f
			}
			fwd += f
			in = ch
		}
		side /= 2
		ch *= 2
	}
	flat := side * side * in
	return fwd + 2*float64(flat*cfg.Hidden+cfg.Hidden*cfg.Hidden), first
}

// trainFLOPs is one training step's work per image: forward, weight
// gradient and input gradient of every convolution and fc layer (three
// times the forward), less the first convolution's input gradient. Heads,
// BatchNorm and pooling are left out (under 1% here), so GFLOP/s from it is
// what the step achieves on the work that matters, comparable with SGEMM.
func trainFLOPs(cfg trainer.ModelConfig) float64 {
	fwd, first := convFLOPs(cfg)
	return 3*fwd - first
}

func model(mode string, args []string) error {
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	res := fs.Int("res", 32, "image side in pixels")
	steps := fs.Int("steps", 50, "timed steps (training) or batches (extraction)")
	warmup := fs.Int("warmup", 3, "untimed steps or batches first")
	batch := fs.Int("batch", 64, "training batch")
	ebatch := fs.Int("extract-batch", 256, "images per Extract call")
	dev := fs.String("device", "cpu", "compute device, as --device: cpu, opencl, cuda or auto")
	if err := fs.Parse(args); err != nil {
		return err
	}
	comp, err := gpu.OpenCompute(*dev, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		return err
	}
	defer comp.Close()
	newBackend := comp.NewBackend
	if newBackend == nil {
		newBackend = trainer.NewCPUBackend
	}
	cfg := trainer.DefaultModelConfig(*res)
	be, err := newBackend(trainer.BackendConfig{Model: cfg, Batch: *batch,
		LR: 0.01, Momentum: 0.9, WeightDecay: 1e-5, Seed: 1})
	if err != nil {
		return err
	}
	defer be.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	const s, k = 16, 16 // m=4 with rotation: 16 super-classes; k=16
	if err := be.SetHeads(s, k, rng); err != nil {
		return err
	}
	per := 3 * *res * *res
	n := *batch
	if mode == "extract" {
		n = *ebatch
	}
	x := make([]float32, n*per)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	b := &trainer.Batch{X: x, Super: make([]int, n), Sub: make([]int, n)}
	for i := range n {
		b.Super[i], b.Sub[i] = rng.IntN(s), rng.IntN(k)
	}
	feat := make([]float32, n*be.FeatureDim())
	run := func() error {
		if mode == "extract" {
			return be.Extract(x, n, feat)
		}
		_, err := be.Step(b)
		return err
	}
	for range *warmup {
		if err := run(); err != nil {
			return err
		}
	}
	c0, s0, _ := usage()
	t0 := time.Now()
	for range *steps {
		if err := run(); err != nil {
			return err
		}
	}
	wall := time.Since(t0).Seconds()
	c1, s1, rss := usage()
	imgs := float64(*steps * n)
	flops := trainFLOPs(cfg)
	if mode == "extract" {
		flops, _ = convFLOPs(cfg)
	}
	emit(map[string]any{"mode": mode, "res": *res, "batch": n, "steps": *steps,
		"ips": imgs / wall, "cpu_ms_per_img": 1e3 * (c1 - c0) / imgs, "sys_ms_per_img": 1e3 * (s1 - s0) / imgs,
		"gflops": flops * imgs / wall / 1e9, "rss_mb": rss, "device": comp.Info.Kind, "device_name": comp.Info.Name})
	return nil
}

// sgemmPeak is the best GFLOP/s of cluster.Sgemm (all cores) over a few
// large square products: the ceiling the training step's GFLOP/s is
// measured against.
func sgemmPeak(args []string) error {
	fs := flag.NewFlagSet("sgemm", flag.ExitOnError)
	size := fs.Int("n", 1536, "side of the square matrices")
	reps := fs.Int("reps", 5, "products timed; the best counts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	n := *size
	rng := rand.New(rand.NewPCG(3, 4))
	a, b, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for i := range a {
		a[i], b[i] = rng.Float32(), rng.Float32()
	}
	cluster.Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n) // warm-up
	best := 0.0
	for range *reps {
		t0 := time.Now()
		cluster.Sgemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n)
		best = max(best, 2*float64(n)*float64(n)*float64(n)/time.Since(t0).Seconds()/1e9)
	}
	// kernel: the CPU kind, micro-kernel, tile and blocking cluster chose
	// for this CPU (cluster.KernelInfo), which bench-train's JSON carries
	emit(map[string]any{"mode": "sgemm", "n": n, "gflops": best, "kernel": cluster.KernelInfo()})
	return nil
}

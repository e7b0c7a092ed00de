package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster/gpu/device"
	"github.com/deepercluster/deepercluster/trainer"
	"github.com/deepercluster/deepercluster/trainer/backendtest"
)

// newCPU makes the CPU backend for cfg, the reference the device's results
// are held against.
func newCPU(t testing.TB, cfg trainer.BackendConfig) trainer.Backend {
	t.Helper()
	be, err := trainer.NewCPUBackend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return be
}

// tensorErr is the largest relative difference between two states'
// tensors, each relative to its tensor's largest magnitude, and where.
func tensorErr(t *testing.T, got, want *trainer.State) (float64, string) {
	t.Helper()
	if got.HeadS != want.HeadS || got.HeadK != want.HeadK || len(got.Tensors) != len(want.Tensors) {
		t.Fatalf("state: heads %dx%d with %d tensors, want %dx%d with %d", got.HeadS, got.HeadK, len(got.Tensors), want.HeadS, want.HeadK, len(want.Tensors))
	}
	worst, where := 0.0, ""
	for _, w := range want.Tensors {
		g := got.Tensor(w.Name)
		if g == nil || len(g.Data) != len(w.Data) || fmt.Sprint(g.Shape) != fmt.Sprint(w.Shape) {
			t.Fatalf("state: tensor %q missing or of another shape", w.Name)
		}
		ref := make([]float64, len(w.Data))
		for i, v := range w.Data {
			ref[i] = float64(v)
		}
		if e := relErr(g.Data, ref); e > worst || math.IsNaN(e) {
			worst, where = e, w.Name
		}
	}
	return worst, where
}

func relClose(a, b float64) bool {
	return math.Abs(a-b) <= kernelTol*max(math.Abs(a), math.Abs(b), 1e-3)
}

// testStepMatchesCPU starts the CPU and the OpenCL backends from
// the same State and gives them the same batches: losses, precisions,
// every updated weight, momentum and running statistic, and the extracted
// features must agree within 1e-3 (relative to each tensor's scale).
// Checkpoints go cpu -> opencl -> cpu along the way.
func testStepMatchesCPU(t *testing.T, dev device.Device) {
	for _, tc := range []struct {
		name string
		cfg  trainer.ModelConfig
		b    int
		s, k int
	}{
		{"w4-16px", trainer.ModelConfig{Resolution: 16, Width: 4, Depth: 2, ConvsPerStage: 1, Hidden: 16}, 3, 8, 3},
		{"sobel-12px-2convs", trainer.ModelConfig{Resolution: 12, Width: 5, Depth: 2, ConvsPerStage: 2, Hidden: 10, Sobel: true}, 4, 4, 5},
		{"odd-9px-only-V", trainer.ModelConfig{Resolution: 9, Width: 6, Depth: 3, ConvsPerStage: 1, Hidden: 7}, 2, 12, 1},
		{"only-W", trainer.ModelConfig{Resolution: 8, Width: 3, Depth: 1, ConvsPerStage: 1, Hidden: 5}, 5, 1, 4},
		{"batch-64", trainer.ModelConfig{Resolution: 10, Width: 3, Depth: 2, ConvsPerStage: 1, Hidden: 6}, 64, 6, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := trainer.BackendConfig{Model: tc.cfg, Batch: tc.b, LR: 0.05, Momentum: 0.9, WeightDecay: 5e-4, Seed: 7}
			cpu := newCPU(t, cfg)
			defer cpu.Close()
			rng := rand.New(rand.NewPCG(3, 4))
			if err := cpu.SetHeads(tc.s, tc.k, rng); err != nil {
				t.Fatal(err)
			}
			g, err := NewBackend(dev, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			res := tc.cfg.Resolution
			// one CPU step first, so that momentum exists in the state
			if _, err := cpu.Step(backendtest.RandomBatch(rng, tc.b, res, tc.s, tc.k)); err != nil {
				t.Fatal(err)
			}
			st0, err := cpu.State()
			if err != nil {
				t.Fatal(err)
			}
			if err := g.LoadState(st0); err != nil {
				t.Fatal(err)
			}
			for step := range 2 {
				bt := backendtest.RandomBatch(rng, tc.b, res, tc.s, tc.k)
				sc, err := cpu.Step(bt)
				if err != nil {
					t.Fatal(err)
				}
				sg, err := g.Step(bt)
				if err != nil {
					t.Fatal(err)
				}
				if !relClose(sc.LossSuper, sg.LossSuper) || !relClose(sc.LossSub, sg.LossSub) ||
					sc.PrecSuper != sg.PrecSuper || sc.PrecSub != sg.PrecSub {
					t.Errorf("step %d: cpu %+v, opencl %+v", step, sc, sg)
				}
				stc, err := cpu.State()
				if err != nil {
					t.Fatal(err)
				}
				stg, err := g.State()
				if err != nil {
					t.Fatal(err)
				}
				if e, where := tensorErr(t, stg, stc); e > kernelTol || math.IsNaN(e) {
					t.Errorf("step %d: state differs by %.3g at %s", step, e, where)
				}
			}
			// features, eval mode, more images than a batch
			n := 2*tc.b + 1
			x := backendtest.RandomBatch(rng, n, res, 1, 1).X
			fc, fg := make([]float32, n*tc.cfg.Hidden), make([]float32, n*tc.cfg.Hidden)
			if err := cpu.Extract(x, n, fc); err != nil {
				t.Fatal(err)
			}
			if err := g.Extract(x, n, fg); err != nil {
				t.Fatal(err)
			}
			ref := make([]float64, len(fc))
			for i, v := range fc {
				ref[i] = float64(v)
			}
			checkClose(t, "features", fg, ref)
			// and back: the OpenCL state resumes on the CPU
			stg, err := g.State()
			if err != nil {
				t.Fatal(err)
			}
			back := newCPU(t, cfg)
			defer back.Close()
			if err := back.LoadState(stg); err != nil {
				t.Fatal(err)
			}
			again, err := back.State()
			if err != nil {
				t.Fatal(err)
			}
			backendtest.SameState(t, again, stg)
		})
	}
}

// testLossFalls trains a short run on a fixed set of batches and
// wants the mean loss of the last pass clearly below the first's.
func testLossFalls(t *testing.T, dev device.Device) {
	cfg := trainer.BackendConfig{Model: trainer.ModelConfig{Resolution: 8, Width: 4, Depth: 2, ConvsPerStage: 1, Hidden: 16},
		Batch: 8, LR: 0.05, Momentum: 0.9, WeightDecay: 1e-4, Seed: 1}
	g, err := NewBackend(dev, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	rng := rand.New(rand.NewPCG(5, 6))
	const s, k = 4, 2
	if err := g.SetHeads(s, k, rng); err != nil {
		t.Fatal(err)
	}
	batches := make([]*trainer.Batch, 4)
	for i := range batches {
		batches[i] = backendtest.RandomBatch(rng, cfg.Batch, 8, s, k)
	}
	pass := func() float64 {
		var sum float64
		for _, b := range batches {
			st, err := g.Step(b)
			if err != nil {
				t.Fatal(err)
			}
			sum += st.LossSuper + st.LossSub
		}
		return sum / float64(len(batches))
	}
	first := pass()
	var last float64
	for range 7 {
		last = pass()
	}
	if !(last < 0.7*first) {
		t.Fatalf("mean loss %.4f after 8 passes, %.4f in the first: want a fall of 30%% or more", last, first)
	}
	// SetHeads forgets the heads' momentum, keeps the trunk's
	if err := g.SetHeads(s, k, rng); err != nil {
		t.Fatal(err)
	}
	st, err := g.State()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range st.Tensors {
		if strings.HasPrefix(r.Name, "momentum/head/") {
			t.Fatalf("%s survived SetHeads", r.Name)
		}
	}
	if st.Tensor("momentum/conv1_1.weight") == nil {
		t.Fatal("SetHeads dropped the trunk's momentum")
	}
}

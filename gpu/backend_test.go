package gpu

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster/gpu/device"
	"github.com/deepercluster/deepercluster/trainer"
	"github.com/deepercluster/deepercluster/trainer/backendtest"
)

// onDevice is the NewBackendFunc of the GPU backend on dev.
func onDevice(dev device.Device) trainer.NewBackendFunc {
	return func(cfg trainer.BackendConfig) (trainer.Backend, error) { return NewBackend(dev, cfg) }
}

func testBackendContract(t *testing.T, dev device.Device) {
	for _, tc := range []struct {
		name  string
		check func(*testing.T, trainer.NewBackendFunc)
	}{
		{"contract", backendtest.Contract},
		{"load-rejects", backendtest.LoadStateRejects},
		{"momentum-rejects", momentumRejects},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, onDevice(dev)) })
	}
}

// testGraphMatchesPlain: a backend that replays recorded steps
// (device.Graphs) and one that launches every kernel take the same steps
// from the same state, with a learning rate that changes every step (as
// the cosine schedule's) and new heads on the way, and must end bit for
// bit equal.
func testGraphMatchesPlain(t *testing.T, dev device.Device) {
	if _, ok := dev.(device.Graphs); !ok {
		t.Fatalf("the %s device offers no graphs", dev.Kind())
	}
	cfg := trainer.BackendConfig{Model: trainer.ModelConfig{Resolution: 12, Width: 4, Depth: 2, ConvsPerStage: 2, Hidden: 8},
		Batch: 3, LR: 0.05, Momentum: 0.9, WeightDecay: 1e-4, Seed: 5}
	plain, err := NewBackendWith(dev, cfg, Options{PlainLaunches: true})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	graph, err := NewBackendWith(dev, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer graph.Close()
	if graph.graphs == nil || plain.graphs != nil {
		t.Fatal("graph replay is not chosen as asked")
	}
	const s, k = 5, 3
	rng := rand.New(rand.NewPCG(8, 1))
	ra, rb := rand.New(rand.NewPCG(2, 2)), rand.New(rand.NewPCG(2, 2))
	for round := range 2 {
		if err := plain.SetHeads(s, k, ra); err != nil {
			t.Fatal(err)
		}
		if err := graph.SetHeads(s, k, rb); err != nil {
			t.Fatal(err)
		}
		var recorded device.Graph
		for step := range 3 {
			lr := 0.05 / float64(step+1)
			plain.SetLR(lr)
			graph.SetLR(lr)
			b := backendtest.RandomBatch(rng, cfg.Batch, 12, s, k)
			sp, err := plain.Step(b)
			if err != nil {
				t.Fatal(err)
			}
			sg, err := graph.Step(b)
			if err != nil {
				t.Fatal(err)
			}
			if sp != sg {
				t.Fatalf("round %d step %d: plain %+v, graph %+v", round, step, sp, sg)
			}
			if graph.graph == nil {
				t.Fatal("no step was recorded")
			}
			if step > 0 && graph.graph != recorded {
				t.Fatalf("round %d step %d: the step was recorded again after a change of learning rate", round, step)
			}
			recorded = graph.graph
		}
	}
	a, err := plain.State()
	if err != nil {
		t.Fatal(err)
	}
	b, err := graph.State()
	if err != nil {
		t.Fatal(err)
	}
	backendtest.SameState(t, b, a)
	// extraction: full batches replayed, the partial one launched; twice,
	// so that the second call replays
	n := 2*cfg.Batch + 1
	for range 2 {
		x := backendtest.RandomBatch(rng, n, 12, 1, 1).X
		fp, fg := make([]float32, n*8), make([]float32, n*8)
		if err := plain.Extract(x, n, fp); err != nil {
			t.Fatal(err)
		}
		if err := graph.Extract(x, n, fg); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(fp, fg) {
			t.Fatal("features differ between replayed and plain extraction")
		}
	}
	if graph.extractGraph == nil {
		t.Fatal("no extraction was recorded")
	}
}

// momentumRejects: a state whose momentum has the wrong size is refused
// whole, naming the tensor, and leaves the backend as it was.
func momentumRejects(t *testing.T, newBackend trainer.NewBackendFunc) {
	cfg := backendtest.ContractConfig()
	a, err := newBackend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	if err := a.SetHeads(4, 3, rng); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Step(backendtest.RandomBatch(rng, cfg.Batch, cfg.Model.Resolution, 4, 3)); err != nil {
		t.Fatal(err)
	}
	before, err := a.State()
	if err != nil {
		t.Fatal(err)
	}
	bad, err := a.State()
	if err != nil {
		t.Fatal(err)
	}
	for i := range bad.Tensors {
		r := &bad.Tensors[i]
		switch {
		case r.Name == "momentum/fc1.weight":
			r.Data = r.Data[:len(r.Data)-1]
		case !strings.HasPrefix(r.Name, "momentum/"):
			for j := range r.Data {
				r.Data[j] += 1
			}
		}
	}
	if err := a.LoadState(bad); err == nil || !strings.Contains(err.Error(), "momentum/fc1.weight") {
		t.Fatalf("loading a state with a short momentum: err = %v", err)
	}
	after, err := a.State()
	if err != nil {
		t.Fatal(err)
	}
	backendtest.SameState(t, after, before)
}

// TestOpenCLCloseDevice: a backend given its device closes it with itself;
// one that is not leaves it open.
func TestOpenCLCloseDevice(t *testing.T) {
	cfg := backendtest.ContractConfig()
	for _, own := range []bool{false, true} {
		dev := openTestDevice(t)
		be, err := NewBackendWith(dev, cfg, Options{CloseDevice: own})
		if err != nil {
			t.Fatal(err)
		}
		if err := be.Close(); err != nil {
			t.Fatal(err)
		}
		if err := be.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		buf, err := dev.Alloc(16)
		if own != (err != nil) {
			t.Fatalf("CloseDevice %v: Alloc after the backend's Close: %v", own, err)
		}
		if !own {
			dev.Free(buf)
			if err := dev.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestOpenCLStepRejects: a malformed batch or config is refused with an
// error saying what is wrong, and a refused step changes nothing.
func TestOpenCLStepRejects(t *testing.T) {
	dev := openTestDevice(t)
	defer dev.Close()
	cfg := backendtest.ContractConfig()
	if _, err := NewBackend(dev, trainer.BackendConfig{Model: cfg.Model, Batch: 1}); err == nil || !strings.Contains(err.Error(), "batch size") {
		t.Fatalf("batch 1: err = %v", err)
	}
	bad := cfg
	bad.Model.Width = 0
	if _, err := NewBackend(dev, bad); err == nil || !strings.Contains(err.Error(), "width") {
		t.Fatalf("width 0: err = %v", err)
	}
	be, err := NewBackend(dev, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	const s, k = 4, 3
	rng := rand.New(rand.NewPCG(3, 3))
	if err := be.SetHeads(1, 1, rng); err == nil {
		t.Fatal("heads of 1 x 1 accepted")
	}
	if err := be.SetHeads(s, k, rng); err != nil {
		t.Fatal(err)
	}
	before, err := be.State()
	if err != nil {
		t.Fatal(err)
	}
	res := cfg.Model.Resolution
	for _, tc := range []struct {
		name, want string
		edit       func(*trainer.Batch)
	}{
		{"short images", "batch of", func(b *trainer.Batch) { b.X = b.X[:len(b.X)-1] }},
		{"missing target", "batch of", func(b *trainer.Batch) { b.Sub = b.Sub[1:] }},
		{"super-class too big", "super-class 4", func(b *trainer.Batch) { b.Super[2] = s }},
		{"negative super-class", "super-class -1", func(b *trainer.Batch) { b.Super[0] = -1 }},
		{"sub-class too big", "sub-class 3", func(b *trainer.Batch) { b.Sub[5] = k }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := backendtest.RandomBatch(rng, cfg.Batch, res, s, k)
			tc.edit(b)
			if _, err := be.Step(b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one with %q", err, tc.want)
			}
		})
	}
	after, err := be.State()
	if err != nil {
		t.Fatal(err)
	}
	backendtest.SameState(t, after, before)
	if err := be.Extract(make([]float32, 3), 1, make([]float32, cfg.Model.Hidden)); err == nil {
		t.Fatal("extraction from too few values accepted")
	}
}

// TestOpenCLBackendFunc: the NewBackendFunc form opens a device per
// backend and meets the contract; a device that cannot be opened is an
// error that says so.
func TestOpenCLBackendFunc(t *testing.T) {
	backendtest.Contract(t, BackendFunc(device.OpenOpenCL))
	_, err := BackendFunc(func() (device.Device, error) { return nil, device.ErrUnavailable })(backendtest.ContractConfig())
	if !errors.Is(err, device.ErrUnavailable) {
		t.Fatalf("err = %v, want one wrapping device.ErrUnavailable", err)
	}
}

// Package backendtest holds the contract every trainer.Backend must meet,
// as test functions a test calls with a backend's constructor: trainer's
// backends table (TestBackendContract, TestBackendLoadStateRejects in
// trainer/backend_test.go, package trainer_test), TestOpenCLBackendContract
// and package gpu's own tests all run this one copy.
package backendtest

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster/trainer"
)

// RandomBatch is a batch of b normal-noise images of res px with uniform
// super-classes in [0, s) and sub-classes in [0, k).
func RandomBatch(rng *rand.Rand, b, res, s, k int) *trainer.Batch {
	x := make([]float32, b*3*res*res)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	bt := &trainer.Batch{X: x, Super: make([]int, b), Sub: make([]int, b)}
	for i := range b {
		bt.Super[i], bt.Sub[i] = rng.IntN(s), rng.IntN(k)
	}
	return bt
}

// SameState fails t unless got holds exactly want's heads and tensors
// (names, shapes, values bit for bit).
func SameState(t testing.TB, got, want *trainer.State) {
	t.Helper()
	if got.HeadS != want.HeadS || got.HeadK != want.HeadK || len(got.Tensors) != len(want.Tensors) {
		t.Fatalf("state: heads %dx%d with %d tensors, want %dx%d with %d", got.HeadS, got.HeadK, len(got.Tensors), want.HeadS, want.HeadK, len(want.Tensors))
	}
	for _, w := range want.Tensors {
		g := got.Tensor(w.Name)
		if g == nil {
			t.Fatalf("state: no tensor %q", w.Name)
		}
		if !slices.Equal(g.Shape, w.Shape) || !slices.Equal(g.Data, w.Data) {
			t.Fatalf("state: tensor %q differs (shape %v, want %v)", w.Name, g.Shape, w.Shape)
		}
	}
}

// ContractConfig is the small model the contract runs on.
func ContractConfig() trainer.BackendConfig {
	return trainer.BackendConfig{Model: trainer.ModelConfig{Resolution: 16, Width: 4, Depth: 2, ConvsPerStage: 1, Hidden: 16},
		Batch: 8, LR: 0.05, Momentum: 0.9, WeightDecay: 1e-4, Seed: 3}
}

// Contract trains a backend made by newBackend through the interface only,
// exports its state, loads it into a fresh backend and checks that both
// then extract the same features and take the same next step: what a
// checkpoint and a resume rely on.
func Contract(t *testing.T, newBackend trainer.NewBackendFunc) {
	cfg := ContractConfig()
	const s, k = 8, 3
	res := cfg.Model.Resolution
	rng := rand.New(rand.NewPCG(1, 2))
	a, err := newBackend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.BatchSize() != cfg.Batch || a.FeatureDim() != cfg.Model.Hidden {
		t.Fatalf("batch %d, feature dim %d; want %d, %d", a.BatchSize(), a.FeatureDim(), cfg.Batch, cfg.Model.Hidden)
	}
	if _, err := a.Step(RandomBatch(rng, cfg.Batch, res, s, k)); err == nil {
		t.Fatal("a step without heads succeeded")
	}
	if err := a.SetHeads(s, k, rng); err != nil {
		t.Fatal(err)
	}
	batches := make([]*trainer.Batch, 6)
	for i := range batches {
		batches[i] = RandomBatch(rng, cfg.Batch, res, s, k)
	}
	var first trainer.StepStats
	for i, b := range batches[:5] {
		st, err := a.Step(b)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = st
		}
	}
	// The same batch again after four updates: training must have lowered
	// its loss.
	again, err := a.Step(batches[0])
	if err != nil {
		t.Fatal(err)
	}
	if again.LossSuper+again.LossSub >= first.LossSuper+first.LossSub {
		t.Errorf("loss on a repeated batch went from %.4f to %.4f: no learning", first.LossSuper+first.LossSub, again.LossSuper+again.LossSub)
	}
	st, err := a.State()
	if err != nil {
		t.Fatal(err)
	}
	if st.HeadS != s || st.HeadK != k || st.Tensor("momentum/head/W") == nil || st.Tensor("conv1_1.bn.running_var") == nil {
		t.Fatalf("state: heads %dx%d, missing momentum or BN statistics", st.HeadS, st.HeadK)
	}
	other := cfg
	other.Seed = 99
	b, err := newBackend(other)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.LoadState(st); err != nil {
		t.Fatal(err)
	}
	back, err := b.State()
	if err != nil {
		t.Fatal(err)
	}
	SameState(t, back, st)

	x := RandomBatch(rng, 5, res, 1, 1).X
	fa, fb := make([]float32, 5*cfg.Model.Hidden), make([]float32, 5*cfg.Model.Hidden)
	if err := a.Extract(x, 5, fa); err != nil {
		t.Fatal(err)
	}
	if err := b.Extract(x, 5, fb); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fa, fb) {
		t.Fatal("features differ between a backend and one loaded from its state")
	}
	sa, err := a.Step(batches[5])
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.Step(batches[5])
	if err != nil {
		t.Fatal(err)
	}
	if sa != sb {
		t.Fatalf("next step: %+v, loaded backend %+v", sa, sb)
	}
	after, err := a.State()
	if err != nil {
		t.Fatal(err)
	}
	afterB, err := b.State()
	if err != nil {
		t.Fatal(err)
	}
	SameState(t, afterB, after)
}

// LoadStateRejects checks that LoadState refuses a state of another shape
// or with a tensor missing, naming the tensor.
func LoadStateRejects(t *testing.T, newBackend trainer.NewBackendFunc) {
	cfg := ContractConfig()
	cfg.Batch = 4
	a, err := newBackend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	st, err := a.State()
	if err != nil {
		t.Fatal(err)
	}
	wider := cfg
	wider.Model.Width = 8
	b, err := newBackend(wider)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.LoadState(st); err == nil || !strings.Contains(err.Error(), "conv1_1.weight") {
		t.Fatalf("loading a narrower model's state: err = %v, want one naming conv1_1.weight", err)
	}
	st.Tensors = slices.DeleteFunc(st.Tensors, func(r trainer.TensorRecord) bool { return r.Name == "fc2.bias" })
	if err := a.LoadState(st); err == nil || !strings.Contains(err.Error(), "fc2.bias") {
		t.Fatalf("loading a state without fc2.bias: err = %v", err)
	}
}

package trainer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster/dataset/synthetic"
)

// backends lists every Backend implementation the tests can run here;
// a new backend adds itself and inherits the contract tests below. A
// backend in a package that imports trainer cannot be named here (an
// import cycle): backend_opencl_test.go, in package trainer_test, runs the
// same contract on the GPU backend over OpenCL (TestOpenCLBackendContract).
var backends = []struct {
	name string
	make NewBackendFunc
}{
	{"cpu", NewCPUBackend},
}

func randomBatch(rng *rand.Rand, b, res, s, k int) *Batch {
	x := make([]float32, b*3*res*res)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	bt := &Batch{X: x, Super: make([]int, b), Sub: make([]int, b)}
	for i := range b {
		bt.Super[i], bt.Sub[i] = rng.IntN(s), rng.IntN(k)
	}
	return bt
}

// TestBackendContract trains a backend through the interface only, exports
// its state, loads it into a fresh backend and checks that both then
// extract the same features and take the same next step: what a checkpoint
// and a resume rely on.
func TestBackendContract(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) { backendContract(t, be.make) })
	}
}

// backendContract is TestBackendContract for one backend; backends that
// import trainer (package gpu) run it through export_test.go.
func backendContract(t *testing.T, newBackend NewBackendFunc) {
	cfg := BackendConfig{Model: ModelConfig{Resolution: 16, Width: 4, Depth: 2, ConvsPerStage: 1, Hidden: 16},
		Batch: 8, LR: 0.05, Momentum: 0.9, WeightDecay: 1e-4, Seed: 3}
	const s, k = 8, 3
	rng := rand.New(rand.NewPCG(1, 2))
	a, err := newBackend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.BatchSize() != cfg.Batch || a.FeatureDim() != cfg.Model.Hidden {
		t.Fatalf("batch %d, feature dim %d; want %d, %d", a.BatchSize(), a.FeatureDim(), cfg.Batch, cfg.Model.Hidden)
	}
	if _, err := a.Step(randomBatch(rng, cfg.Batch, 16, s, k)); err == nil {
		t.Fatal("a step without heads succeeded")
	}
	if err := a.SetHeads(s, k, rng); err != nil {
		t.Fatal(err)
	}
	batches := make([]*Batch, 6)
	for i := range batches {
		batches[i] = randomBatch(rng, cfg.Batch, 16, s, k)
	}
	var first StepStats
	for i, b := range batches[:5] {
		st, err := a.Step(b)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = st
		}
	}
	// The same batch again after four updates: training must have
	// lowered its loss.
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

	b, err := newBackend(BackendConfig{Model: cfg.Model, Batch: cfg.Batch,
		LR: cfg.LR, Momentum: cfg.Momentum, WeightDecay: cfg.WeightDecay, Seed: 99})
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
	sameState(t, back, st)

	x := randomBatch(rng, 5, 16, 1, 1).X
	fa, fb := make([]float32, 5*16), make([]float32, 5*16)
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
	after, _ := a.State()
	afterB, _ := b.State()
	sameState(t, afterB, after)
}

func TestBackendLoadStateRejects(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) { backendLoadStateRejects(t, be.make) })
	}
}

// backendLoadStateRejects is TestBackendLoadStateRejects for one backend.
func backendLoadStateRejects(t *testing.T, newBackend NewBackendFunc) {
	cfg := BackendConfig{Model: ModelConfig{Resolution: 16, Width: 4, Depth: 2, ConvsPerStage: 1, Hidden: 16}, Batch: 4}
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
	st.Tensors = slices.DeleteFunc(st.Tensors, func(r TensorRecord) bool { return r.Name == "fc2.bias" })
	if err := a.LoadState(st); err == nil || !strings.Contains(err.Error(), "fc2.bias") {
		t.Fatalf("loading a state without fc2.bias: err = %v", err)
	}
}

// TestReestimateBN: training-mode passes at learning rate 0 give an
// untrained network the batch-norm statistics of real images and leave
// every weight as it was.
func TestReestimateBN(t *testing.T) {
	cfg := BackendConfig{Model: ModelConfig{Resolution: 16, Width: 4, Depth: 2, ConvsPerStage: 1, Hidden: 16},
		Batch: 8, LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4, Seed: 3}
	net, err := NewCPUBackend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	before, err := net.State()
	if err != nil {
		t.Fatal(err)
	}
	ds, err := synthetic.New(synthetic.Config{N: 64, Resolution: 16, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := ReestimateBN(t.Context(), net, ds, 30, 1); err != nil {
		t.Fatal(err)
	}
	after, err := net.State()
	if err != nil {
		t.Fatal(err)
	}
	moved := 0
	for _, b := range before.Tensors {
		a := after.Tensor(b.Name)
		if a == nil {
			t.Fatalf("tensor %s gone", b.Name)
		}
		stat := strings.HasSuffix(b.Name, ".running_mean") || strings.HasSuffix(b.Name, ".running_var")
		same := slices.Equal(a.Data, b.Data)
		switch {
		case stat && !same:
			moved++
		case !stat && !same && !strings.HasPrefix(b.Name, "momentum/"):
			t.Fatalf("weight %s changed", b.Name)
		}
	}
	if moved == 0 {
		t.Fatal("no running statistic moved")
	}
	m := after.Tensor("conv1_1.bn.running_mean")
	if m == nil {
		t.Fatal("no conv1_1.bn.running_mean")
	}
	nonzero := false
	for _, v := range m.Data {
		nonzero = nonzero || v != 0
	}
	if !nonzero {
		t.Fatal("first layer's running mean is still 0")
	}
}

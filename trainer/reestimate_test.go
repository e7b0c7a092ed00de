package trainer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster/dataset/synthetic"
)

// randomBatch is a batch of b random images of side res with random
// targets among s super-classes and k sub-classes.
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

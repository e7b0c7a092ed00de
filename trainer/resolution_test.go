package trainer

import (
	"math/rand/v2"
	"testing"
)

// TestDefaultModelAdaptsToResolution trains the default network one step
// and extracts features at every resolution a dataset may have: the depth
// grows above 64 px, so that the last feature map stays at most 8x8.
func TestDefaultModelAdaptsToResolution(t *testing.T) {
	for _, tc := range []struct{ res, depth, side int }{{32, 3, 4}, {64, 3, 8}, {80, 4, 5}, {96, 4, 6}} {
		m := DefaultModelConfig(tc.res)
		m.Width, m.Hidden = 4, 8 // small: the shape is what is tested
		if m.Depth != tc.depth || tc.res>>m.Depth != tc.side {
			t.Errorf("%d px: depth %d (last map %d px), want %d (%d px)", tc.res, m.Depth, tc.res>>m.Depth, tc.depth, tc.side)
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("%d px: %v", tc.res, err)
		}
		be, err := NewCPUBackend(BackendConfig{Model: m, Batch: 2, LR: 0.05, Momentum: 0.9, Seed: 1})
		if err != nil {
			t.Fatalf("%d px: %v", tc.res, err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		if err := be.SetHeads(4, 2, rng); err != nil {
			t.Fatal(err)
		}
		if _, err := be.Step(randomBatch(rng, 2, tc.res, 4, 2)); err != nil {
			t.Errorf("%d px: step: %v", tc.res, err)
		}
		be.Close()
	}
	if err := DefaultModelConfig(128).Validate(); err == nil {
		t.Error("128 px accepted")
	}
}

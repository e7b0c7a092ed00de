// Package exporttest makes what the export tests compare against: a small
// network really trained for a few steps on synthetic images (so BatchNorm
// statistics, weights and heads are far from their initial values), the
// features our CPU backend extracts for some images, and the same images
// as an exported model takes them (NCHW float32 in [0, 1]).
package exporttest

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepercluster/deepercluster/dataset/synthetic"
	"github.com/deepercluster/deepercluster/trainer"
)

// Trained is a trained network with reference features.
type Trained struct {
	Checkpoint *trainer.Checkpoint
	// Images are n images (n, 3, res, res) in [0, 1]; Features their
	// features (n, hidden) extracted by the CPU backend from the trainer's
	// own normalisation of the same bytes.
	Images, Features []float32
	N                int
}

// Train trains cfg for steps steps of batch 8 with s x k heads on
// synthetic images at cfg.Resolution and extracts the features of the
// first n images of the set.
func Train(t testing.TB, cfg trainer.ModelConfig, s, k, steps, n int) *Trained {
	t.Helper()
	ds, err := synthetic.New(synthetic.Config{Seed: 3, N: 64, Resolution: cfg.Resolution})
	if err != nil {
		t.Fatal(err)
	}
	const batch = 8
	be, err := trainer.NewCPUBackend(trainer.BackendConfig{Model: cfg, Batch: batch, LR: 0.05, Momentum: 0.9, WeightDecay: 1e-5, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	if err := be.SetHeads(s, k, rng); err != nil {
		t.Fatal(err)
	}
	res := cfg.Resolution
	per := 3 * res * res
	raw := make([]byte, per)
	for step := range steps {
		b := &trainer.Batch{X: make([]float32, batch*per), Super: make([]int, batch), Sub: make([]int, batch)}
		for j := range batch {
			i := (step*batch + j) % ds.Len()
			if err := ds.Image(i, raw); err != nil {
				t.Fatal(err)
			}
			for p := range res * res {
				for c := range 3 {
					b.X[j*per+c*res*res+p] = (float32(raw[p*3+c])/255 - 0.5) / 0.25
				}
			}
			b.Super[j], b.Sub[j] = i%s, (i/s)%k
		}
		if _, err := be.Step(b); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
	st, err := be.State()
	if err != nil {
		t.Fatal(err)
	}
	ck := &trainer.Checkpoint{Model: cfg, HeadS: st.HeadS, HeadK: st.HeadK, Tensors: st.Tensors, TotalSteps: int64(steps)}
	sub, err := synthetic.New(synthetic.Config{Seed: 3, N: n, Resolution: res})
	if err != nil {
		t.Fatal(err)
	}
	feats, err := trainer.ExtractFeatures(context.Background(), be, sub, nil)
	if err != nil {
		t.Fatal(err)
	}
	imgs := make([]float32, n*per)
	for i := range n {
		if err := sub.Image(i, raw); err != nil {
			t.Fatal(err)
		}
		for p := range res * res {
			for c := range 3 {
				imgs[i*per+c*res*res+p] = float32(raw[p*3+c]) / 255
			}
		}
	}
	return &Trained{Checkpoint: ck, Images: imgs, Features: feats, N: n}
}

// MaxRelErr is the largest |got - want| over the images, each divided by
// the largest |want| of its image's row (a feature near zero is judged
// against its row's scale, not its own).
func MaxRelErr(got, want []float32, n int) float64 {
	if len(got) != len(want) || n == 0 {
		return math.Inf(1)
	}
	d := len(want) / n
	worst := 0.0
	for i := range n {
		scale := 0.0
		for _, v := range want[i*d : (i+1)*d] {
			scale = max(scale, math.Abs(float64(v)))
		}
		for j := i * d; j < (i+1)*d; j++ {
			worst = max(worst, math.Abs(float64(got[j])-float64(want[j]))/max(scale, 1e-12))
		}
	}
	return worst
}

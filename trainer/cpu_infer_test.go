package trainer

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFastExtractMatchesGraph holds the direct extraction path to gorgonia's
// eval-mode extraction graph on random inputs, random weights and random
// BatchNorm statistics, over shapes that exercise the Sobel front end, odd
// sides at pooling (28 -> 14 -> 7 -> 3), one and two convolutions per stage,
// batches that do not fill the worker chunks, and more images than one
// block of the fc layers.
func TestFastExtractMatchesGraph(t *testing.T) {
	cases := []struct {
		name string
		cfg  ModelConfig
		n    int
	}{
		{"bench net", DefaultModelConfig(32), 11},
		{"sobel tiny", ModelConfig{Resolution: 16, Width: 4, Depth: 2, ConvsPerStage: 1, Hidden: 8, Sobel: true}, 5},
		{"odd pooling", ModelConfig{Resolution: 28, Width: 6, Depth: 3, ConvsPerStage: 2, Hidden: 10}, 7},
		{"one pixel left", ModelConfig{Resolution: 8, Width: 3, Depth: 3, ConvsPerStage: 1, Hidden: 5}, 3},
		{"single image", ModelConfig{Resolution: 12, Width: 5, Depth: 2, ConvsPerStage: 3, Hidden: 7}, 1},
		{"more than a block", ModelConfig{Resolution: 8, Width: 16, Depth: 1, ConvsPerStage: 1, Hidden: 5}, inferBlock + 37},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 77))
			trunk, err := trunkFrom(tc.cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			// BN parameters and statistics away from their initial 1 and 0,
			// so that folding them is actually tested.
			for _, p := range trunk.Params {
				if len(p.Shape) == 4 && p.Shape[0] == 1 {
					fillNormal(p.Data, 0.5, rng)
				}
			}
			for l := range trunk.BNMean {
				fillNormal(trunk.BNMean[l].Data, 0.3, rng)
				for j := range trunk.BNVar[l].Data {
					trunk.BNVar[l].Data[j] = 0.2 + rng.Float32()*2
				}
			}
			net, err := newNet(trunk, 2, &sgd{})
			if err != nil {
				t.Fatal(err)
			}
			defer net.Close()
			per := 3 * tc.cfg.Resolution * tc.cfg.Resolution
			x := make([]float32, tc.n*per)
			fillNormal(x, 1, rng)
			H := tc.cfg.Hidden
			want := make([]float32, tc.n*H)
			got := make([]float32, tc.n*H)
			if err := net.extractGraph(4, x, tc.n, want); err != nil {
				t.Fatal(err)
			}
			for range 2 { // twice: the second run reuses the buffers
				if err := net.Extract(x, tc.n, got); err != nil {
					t.Fatal(err)
				}
				assertClose(t, got, want, H, 1e-4)
			}
		})
	}
}

// TestFastExtractFollowsTraining checks that the direct path sees what
// training changes: the weights and the BatchNorm running statistics of the
// training graph.
func TestFastExtractFollowsTraining(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	cfg := ModelConfig{Resolution: 16, Width: 4, Depth: 2, ConvsPerStage: 2, Hidden: 8}
	trunk, err := trunkFrom(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	net, err := newNet(trunk, 8, &sgd{LR: 0.1, Momentum: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	if err := net.setHeads(headsFrom(4, 3, cfg.Hidden, rng)); err != nil {
		t.Fatal(err)
	}
	b := randBatch(rng, 8, cfg.Resolution, 4, 3)
	for range 3 {
		if _, err := net.Step(b); err != nil {
			t.Fatal(err)
		}
	}
	want := make([]float32, 8*cfg.Hidden)
	got := make([]float32, 8*cfg.Hidden)
	if err := net.extractGraph(8, b.X, 8, want); err != nil {
		t.Fatal(err)
	}
	if err := net.Extract(b.X, 8, got); err != nil {
		t.Fatal(err)
	}
	assertClose(t, got, want, cfg.Hidden, 1e-4)
	if err := net.Extract(b.X[:10], 1, got); err == nil {
		t.Fatal("extract of an image from 10 values accepted")
	}
}

// assertClose compares feature rows of width d, relative to the largest
// magnitude of the reference.
func assertClose(t *testing.T, got, want []float32, d int, rel float64) {
	t.Helper()
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	if scale == 0 {
		t.Fatal("reference features are all zero: the comparison would prove nothing")
	}
	for i := range want {
		if diff := math.Abs(float64(got[i] - want[i])); diff > rel*scale || math.IsNaN(float64(got[i])) {
			t.Fatalf("image %d feature %d: fast %v, gorgonia %v (|diff| %.3g > %.3g)", i/d, i%d, got[i], want[i], diff, rel*scale)
		}
	}
}

// TestFastOpsMatchGorgonia runs the same training steps through a training
// graph built from our ops (cpu_ops.go) and one built from gorgonia's Conv2d,
// BatchNorm, Rectify and MaxPool2D: the losses, the features, every
// gradient and the BatchNorm running statistics must
// agree, step after step (the graphs' buffers are reused across steps).
func TestFastOpsMatchGorgonia(t *testing.T) {
	cases := []struct {
		name  string
		cfg   ModelConfig
		b     int
		steps int
	}{
		{"two convs per stage", ModelConfig{Resolution: 16, Width: 4, Depth: 2, ConvsPerStage: 2, Hidden: 8}, 6, 3},
		{"sobel, odd pooling", ModelConfig{Resolution: 12, Width: 3, Depth: 3, ConvsPerStage: 1, Hidden: 6, Sobel: true}, 4, 3},
		// One step only: at this size, after a step some pre-activation
		// sits within float32 rounding of ReLU's kink, and one element's
		// gradient then counts in one graph and not in the other.
		{"bench shape", DefaultModelConfig(32), 8, 1},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nets := make([]*cpuNet, 2)
			for j := range nets {
				rng := rand.New(rand.NewPCG(uint64(i), 5))
				trunk, err := trunkFrom(tc.cfg, rng)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range trunk.Params {
					if len(p.Shape) == 4 && p.Shape[0] == 1 {
						fillNormal(p.Data, 0.5, rng) // BN scale and bias away from 1, 0
					}
				}
				net, err := newNet(trunk, tc.b, &sgd{LR: 0.05, Momentum: 0.9, WeightDecay: 1e-4})
				if err != nil {
					t.Fatal(err)
				}
				defer net.Close()
				if j == 1 {
					net.ops = refOps{}
				}
				if err := net.setHeads(headsFrom(5, 3, tc.cfg.Hidden, rng)); err != nil {
					t.Fatal(err)
				}
				nets[j] = net
			}
			fast, ref := nets[0], nets[1]
			rng := rand.New(rand.NewPCG(uint64(i), 6))
			for step := range tc.steps {
				// Start each step from the same point, so that rounding
				// differences do not pile up over the steps.
				ref.SyncBN()
				for k, p := range ref.lparams {
					copy(fast.lparams[k].Data, p.Data)
				}
				for l := range ref.Trunk.BNMean {
					copy(fast.Trunk.BNMean[l].Data, ref.Trunk.BNMean[l].Data)
					copy(fast.Trunk.BNVar[l].Data, ref.Trunk.BNVar[l].Data)
				}
				b := randBatch(rng, tc.b, tc.cfg.Resolution, 5, 3)
				sf, err := fast.forwardBackward(b)
				if err != nil {
					t.Fatal(err)
				}
				sr, err := ref.forwardBackward(b)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(sf.LossSuper-sr.LossSuper) > 1e-4 || math.Abs(sf.LossSub-sr.LossSub) > 1e-4 {
					t.Fatalf("step %d: losses %+v, gorgonia %+v", step, sf, sr)
				}
				assertClose(t, f32(fast.vFeat), f32(ref.vFeat), tc.cfg.Hidden, 1e-4)
				for k, node := range fast.learn {
					gf, err := node.Grad()
					if err != nil {
						t.Fatal(err)
					}
					gr, err := ref.learn[k].Grad()
					if err != nil {
						t.Fatal(err)
					}
					t.Run(node.Name(), func(t *testing.T) { assertClose(t, f32(gf), f32(gr), 1, 2e-4) })
					fast.Opt.update(fast.lparams[k], f32(gf))
					ref.Opt.update(ref.lparams[k], f32(gr))
				}
				// the running statistics this step added
				ref.SyncBN()
				for l := range fast.Trunk.BNMean {
					assertClose(t, fast.Trunk.BNMean[l].Data, ref.Trunk.BNMean[l].Data, 1, 1e-4)
					assertClose(t, fast.Trunk.BNVar[l].Data, ref.Trunk.BNVar[l].Data, 1, 1e-4)
				}
			}
		})
	}
}

// TestExtractStagesFeedTheFeatures holds ExtractStages to the feature path:
// each stage is as wide as the trunk's shape says, the last stage's
// output through fc1, its ReLU and fc2 gives Extract's features, and an
// image's stages do not depend on the images extracted beside it (the
// chunks' offsets).
func TestExtractStagesFeedTheFeatures(t *testing.T) {
	cases := []struct {
		name string
		cfg  ModelConfig
		n    int
	}{
		{"bench net at 28 px", ModelConfig{Resolution: 28, Width: 4, Depth: 3, ConvsPerStage: 2, Hidden: 6}, 9},
		{"sobel tiny", ModelConfig{Resolution: 16, Width: 4, Depth: 2, ConvsPerStage: 1, Hidden: 8, Sobel: true}, 5},
		{"more than a chunk", ModelConfig{Resolution: 8, Width: 3, Depth: 2, ConvsPerStage: 1, Hidden: 5}, inferChunk(8) + 3},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 91))
			trunk, err := trunkFrom(tc.cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			net, err := newNet(trunk, 2, &sgd{})
			if err != nil {
				t.Fatal(err)
			}
			defer net.Close()
			dims := net.StageDims()
			side, ch := tc.cfg.Resolution, tc.cfg.Width
			if len(dims) != tc.cfg.Depth {
				t.Fatalf("StageDims() = %v: want %d stages", dims, tc.cfg.Depth)
			}
			for s, d := range dims {
				side /= 2
				if d != side*side*ch {
					t.Errorf("stage %d: %d values, want %d x %d x %d", s+1, d, side, side, ch)
				}
				ch *= 2
			}
			per := 3 * tc.cfg.Resolution * tc.cfg.Resolution
			x := make([]float32, tc.n*per)
			fillNormal(x, 1, rng)
			stages := make([][]float32, len(dims))
			for s, d := range dims {
				stages[s] = make([]float32, tc.n*d)
			}
			if err := net.ExtractStages(x, tc.n, stages); err != nil {
				t.Fatal(err)
			}
			H := tc.cfg.Hidden
			feats := make([]float32, tc.n*H)
			if err := net.Extract(x, tc.n, feats); err != nil {
				t.Fatal(err)
			}
			// fc1, ReLU, fc2 over the last stage, with the plan's weights
			// (rows in the stages' NHWC order).
			p := newInferPlan(net.Trunk)
			last, flat := stages[len(stages)-1], dims[len(dims)-1]
			got := make([]float32, tc.n*H)
			hid := make([]float32, H)
			for im := range tc.n {
				for j := range H {
					v := p.fc1b[j]
					for k := range flat {
						v += last[im*flat+k] * p.fc1[k*H+j]
					}
					hid[j] = max(v, 0)
				}
				for j := range H {
					v := p.fc2b[j]
					for k := range H {
						v += hid[k] * p.fc2[k*H+j]
					}
					got[im*H+j] = v
				}
			}
			assertClose(t, got, feats, H, 1e-4)
			// The last image alone: the same stage rows.
			one := make([][]float32, len(dims))
			for s, d := range dims {
				one[s] = make([]float32, d)
			}
			if err := net.ExtractStages(x[(tc.n-1)*per:], 1, one); err != nil {
				t.Fatal(err)
			}
			for s, d := range dims {
				assertClose(t, one[s], stages[s][(tc.n-1)*d:], d, 1e-6)
			}
		})
	}
}

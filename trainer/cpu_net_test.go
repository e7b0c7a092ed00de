package trainer

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

func tinyModel() ModelConfig {
	return ModelConfig{Resolution: 16, Width: 4, Depth: 2, ConvsPerStage: 1, Hidden: 8}
}

func randBatch(rng *rand.Rand, b, res, s, k int) *Batch {
	x := make([]float32, b*3*res*res)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	bt := &Batch{X: x, Super: make([]int, b), Sub: make([]int, b)}
	for i := range b {
		bt.Super[i] = rng.IntN(s)
		bt.Sub[i] = rng.IntN(k)
	}
	return bt
}

// TestSubHeadGather checks that the stacked, gathered sub-heads compute, for
// each sample, exactly W_s h + b_s of its own super-class s, and that the
// gradient lands in W_s only: against a plain loop.
func TestSubHeadGather(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := tinyModel()
	trunk, err := trunkFrom(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	const B, S, K = 6, 5, 3
	net, err := newNet(trunk, B, &sgd{LR: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	heads := headsFrom(S, K, cfg.Hidden, rng)
	fillNormal(heads.W.Data, 0.5, rng)
	fillNormal(heads.WB.Data, 0.5, rng)
	if err := net.setHeads(heads); err != nil {
		t.Fatal(err)
	}
	b := randBatch(rng, B, cfg.Resolution, S, K)
	b.Super = []int{4, 0, 4, 2, 1, 4} // repeated super-classes; 3 is unused
	if _, err := net.forwardBackward(b); err != nil {
		t.Fatal(err)
	}
	H := cfg.Hidden
	feat := net.vFeat.Data().([]float32)
	logits := net.vLogitZ.Data().([]float32)
	gw := make([]float64, S*H*K)
	var loss float64
	for i := range B {
		s := b.Super[i]
		want := make([]float64, K)
		for k := range K {
			v := float64(heads.WB.Data[s*K+k])
			for h := range H {
				v += math.Max(0, float64(feat[i*H+h])) * float64(heads.W.Data[s*H*K+h*K+k])
			}
			want[k] = v
			if d := math.Abs(v - float64(logits[i*K+k])); d > 1e-4 {
				t.Fatalf("sample %d (super %d) logit %d: gather gives %v, loop %v", i, s, k, logits[i*K+k], v)
			}
		}
		// softmax gradient, mean over the batch
		mx := want[0]
		for _, v := range want {
			mx = math.Max(mx, v)
		}
		var z float64
		for _, v := range want {
			z += math.Exp(v - mx)
		}
		loss -= (want[b.Sub[i]] - mx - math.Log(z)) / B
		for k := range K {
			d := math.Exp(want[k]-mx) / z
			if k == b.Sub[i] {
				d--
			}
			for h := range H {
				gw[s*H*K+h*K+k] += math.Max(0, float64(feat[i*H+h])) * d / B
			}
		}
	}
	if got := scalar(net.vLossZ); math.Abs(got-loss) > 1e-4 {
		t.Fatalf("sub loss %v, loop %v", got, loss)
	}
	var wnode = net.learn[len(net.learn)-2]
	gv, err := wnode.Grad()
	if err != nil {
		t.Fatal(err)
	}
	got := gv.Data().([]float32)
	for i := range gw {
		if math.Abs(float64(got[i])-gw[i]) > 1e-5 {
			t.Fatalf("grad W[%d] (head %d): %v, loop %v", i, i/(H*K), got[i], gw[i])
		}
	}
	// head 3 is used by no sample: its gradient must be exactly zero
	for i := 3 * H * K; i < 4*H*K; i++ {
		if got[i] != 0 {
			t.Fatalf("unused head 3 got gradient %v at %d", got[i], i)
		}
	}
}

// TestNetLearnsAndSharesWeights fits one fixed batch: the loss must fall,
// and the extraction graph must see the updated weights.
func TestNetLearnsAndSharesWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cfg := tinyModel()
	cfg.Sobel = true
	trunk, err := trunkFrom(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	net, err := newNet(trunk, 8, &sgd{LR: 0.05, Momentum: 0.9, WeightDecay: 1e-4})
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	if err := net.setHeads(headsFrom(4, 3, cfg.Hidden, rng)); err != nil {
		t.Fatal(err)
	}
	b := randBatch(rng, 8, cfg.Resolution, 4, 3)
	before := make([]float32, 5*cfg.Hidden)
	if err := net.Extract(b.X, 5, before); err != nil {
		t.Fatal(err)
	}
	var first, last StepStats
	for i := range 30 {
		st, err := net.Step(b)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = st
		}
		last = st
	}
	if !(last.LossSuper+last.LossSub < 0.5*(first.LossSuper+first.LossSub)) {
		t.Fatalf("loss did not fall on a fixed batch: %+v -> %+v", first, last)
	}
	after := make([]float32, 5*cfg.Hidden)
	if err := net.Extract(b.X, 5, after); err != nil {
		t.Fatal(err)
	}
	same := true
	for i := range after {
		if after[i] != before[i] {
			same = false
		}
	}
	if same {
		t.Fatal("extraction graph did not see the trained weights")
	}
	// Eval-mode extraction is per sample: image 4 alone gives the same row.
	one := make([]float32, cfg.Hidden)
	per := 3 * cfg.Resolution * cfg.Resolution
	if err := net.Extract(b.X[4*per:5*per], 1, one); err != nil {
		t.Fatal(err)
	}
	for i := range one {
		if math.Abs(float64(one[i]-after[4*cfg.Hidden+i])) > 1e-4 {
			t.Fatalf("feature %d of image 4: %v alone, %v in a batch", i, one[i], after[4*cfg.Hidden+i])
		}
	}
}

// TestLinearProbe separates two Gaussian blobs per class in 5-d: the probe
// must classify held-out points almost perfectly, and chance-level labels
// must stay near chance.
func TestLinearProbe(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const d, classes = 5, 3
	gen := func(n int, shuffle bool) ([]float32, []int32) {
		x := make([]float32, n*d)
		y := make([]int32, n)
		for i := range n {
			c := rng.IntN(classes)
			y[i] = int32(c)
			for j := range d {
				x[i*d+j] = float32(rng.NormFloat64() * 0.5)
			}
			x[i*d+c] += 3
			if shuffle {
				y[i] = int32(rng.IntN(classes))
			}
		}
		return x, y
	}
	trX, trY := gen(600, false)
	teX, teY := gen(300, false)
	res, err := LinearProbe(t.Context(), trX, trY, teX, teY, d, classes, ProbeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if res.TestAcc < 0.95 || !res.Converged || res.TrainAcc < 0.95 {
		t.Fatalf("probe on separable data: %+v", res)
	}
	// Labels independent of the features: nothing carries over to fresh
	// random labels.
	rx, ry := gen(600, true)
	rtX, rtY := gen(900, true)
	res, err = LinearProbe(t.Context(), rx, ry, rtX, rtY, d, classes, ProbeConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if res.TestAcc > 0.45 {
		t.Fatalf("probe learned from random labels: %+v", res)
	}
	if _, err := LinearProbe(t.Context(), trX, trY[:10], teX, teY, d, classes, ProbeConfig{}); err == nil {
		t.Fatal("mismatched sizes accepted")
	}
}

// TestKMeansScores: features that hold the classes (one direction per
// class) give NMI, ACC and ARI near 1, features that are pure noise near 0
// (ACC near chance, 1/k).
func TestKMeansScores(t *testing.T) {
	const n, d, k = 600, 8, 4
	for _, tc := range []struct {
		name     string
		signal   float64
		min, max float64
	}{
		{"separable", 3, 0.9, 1 + 1e-9},
		{"noise", 0, 0, 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 8))
			x := make([]float32, n*d)
			y := make([]int32, n)
			for i := range n {
				c := rng.IntN(k)
				y[i] = int32(c)
				for j := range d {
					x[i*d+j] = float32(rng.NormFloat64() * 0.3)
				}
				x[i*d+c] += float32(tc.signal)
			}
			sc, assign, err := KMeansScores(t.Context(), x, n, d, k, y, 1, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(assign) != n {
				t.Fatalf("%d clusters for %d rows", len(assign), n)
			}
			if sc.NMI < tc.min || sc.NMI > tc.max || sc.ARI < tc.min-0.05 || sc.ARI > tc.max {
				t.Fatalf("NMI %.3f ARI %.3f, want in [%.1f, %.1f]", sc.NMI, sc.ARI, tc.min, tc.max)
			}
			if tc.signal > 0 && sc.ACC < 0.95 || tc.signal == 0 && sc.ACC > 0.4 {
				t.Fatalf("ACC %.3f with signal %v", sc.ACC, tc.signal)
			}
		})
	}
}

// trunkFrom is a trunk of InitTrunk's weights for a seed drawn from rng.
func trunkFrom(cfg ModelConfig, rng *rand.Rand) (*cpuTrunk, error) {
	init, err := InitTrunk(cfg, rng.Uint64())
	if err != nil {
		return nil, err
	}
	return newTrunk(cfg, init)
}

// headsFrom is InitHeads as the CPU backend's Heads.
func headsFrom(s, k, hidden int, rng *rand.Rand) *cpuHeads {
	return newHeads(s, k, InitHeads(s, k, hidden, rng))
}

// TestTrainingDeterministic trains the bench network's shape (widths 16,
// 32, 64, so the AVX-512 batch-norm kernels run) for a few steps twice, on
// one core and on all of them: the weights, statistics and momentum must
// be bit for bit the same. Every reduction of a step is cut into pieces
// fixed by the shapes and added in a fixed order, so a seed trains to the
// same weights whatever the scheduling (users and the quality bench rely
// on it).
func TestTrainingDeterministic(t *testing.T) {
	cfg := DefaultModelConfig(16)
	train := func(procs int) *State {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		be, err := NewCPUBackend(BackendConfig{Model: cfg, Batch: 12, LR: 0.05, Momentum: 0.9, WeightDecay: 1e-4, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		defer be.Close()
		rng := rand.New(rand.NewPCG(7, 8))
		if err := be.SetHeads(8, 4, rng); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := be.Step(randBatch(rng, 12, cfg.Resolution, 8, 4)); err != nil {
				t.Fatal(err)
			}
		}
		st, err := be.State()
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	one, all := train(1), train(max(2, runtime.NumCPU()))
	if len(one.Tensors) != len(all.Tensors) {
		t.Fatalf("%d tensors on one core, %d on all", len(one.Tensors), len(all.Tensors))
	}
	for i, a := range one.Tensors {
		b := all.Tensors[i]
		for j := range a.Data {
			if a.Data[j] != b.Data[j] {
				t.Fatalf("%s[%d]: %v on one core, %v on all", a.Name, j, a.Data[j], b.Data[j])
			}
		}
	}
}

package trainer

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster/internal/npy"
)

// goldenInputs rewrites the golden test's inputs (our initial weights and
// the batch) instead of checking: the first step of making the fixtures,
// before scripts/golden_peer.py computes the peer's answers from them.
var goldenInputs = flag.Bool("golden-inputs", false, "write testdata/golden/in (weights and batch) for scripts/golden_peer.py instead of checking")

// The golden network and batch: small, so the fixtures are a few tens of
// kilobytes, but every kind of layer of the bench's network (three stages
// of two convs with batch norm, two fc layers, both heads).
var (
	goldenModel = ModelConfig{Resolution: 28, Width: 4, Depth: 3, ConvsPerStage: 2, Hidden: 16}
	goldenDir   = filepath.Join("testdata", "golden")
)

const (
	goldenBatch = 8
	goldenS     = 12 // 4 rotations x m = 3 super-clusters
	goldenK     = 3
)

// goldenFile is where tensor name lives in dir: '/' becomes "__".
func goldenFile(dir, name string) string {
	return filepath.Join(dir, strings.ReplaceAll(name, "/", "__")+".npy")
}

// as2D is the shape a tensor is stored in: its first dimension by the
// product of the rest; a vector is one row.
func as2D(shape []int) (rows, cols int) {
	if len(shape) == 1 {
		return 1, shape[0]
	}
	cols = 1
	for _, d := range shape[1:] {
		cols *= d
	}
	return shape[0], cols
}

// TestGoldenPeer requires our CPU backend to reproduce the PyTorch peer's
// (scripts/quality_peer.py's network and heads, run by
// scripts/golden_peer.py) losses and gradients for the same weights and
// the same batch, to a relative error of 1e-4: the evidence that the peer
// of `make bench-quality` is the same method, checked without torch. The
// weights are ours (InitTrunk, InitHeads), written once to
// testdata/golden/in and loaded by both sides, so the comparison is exact.
// The gradients are read from the SGD momentum buffers after one step,
// which PyTorch's formulation (buf = mom*buf + g, buf 0 before) makes the
// gradient itself when weight decay is 0.
func TestGoldenPeer(t *testing.T) {
	in := filepath.Join(goldenDir, "in")
	if *goldenInputs {
		writeGoldenInputs(t, in)
		return
	}
	st, batch := readGoldenInputs(t, in)
	net, err := NewCPUBackend(BackendConfig{Model: goldenModel, Batch: goldenBatch, LR: 0.01, Momentum: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	if err := net.LoadState(st); err != nil {
		t.Fatalf("loading %s: %v", in, err)
	}
	stats, err := net.Step(batch)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(goldenDir, "out")
	_, _, loss, err := npy.Read[float32](filepath.Join(out, "loss.npy"))
	if err != nil {
		t.Fatalf("%v (make the fixtures with scripts/golden_peer.py)", err)
	}
	for i, got := range []float64{stats.LossSuper, stats.LossSub} {
		if rel := math.Abs(got-float64(loss[i])) / math.Abs(float64(loss[i])); rel > 1e-4 || math.IsNaN(rel) {
			t.Errorf("loss %d (%s): ours %.7f, the peer's %.7f: relative error %.2g > 1e-4", i, []string{"super", "sub"}[i], got, loss[i], rel)
		}
	}
	after, err := net.State()
	if err != nil {
		t.Fatal(err)
	}
	checked, worst, worstName := 0, 0.0, ""
	for _, rec := range st.Tensors {
		if strings.Contains(rec.Name, "running_") {
			continue // statistics, not learnt
		}
		g := after.Tensor(momentumPrefix + rec.Name)
		if g == nil {
			t.Errorf("%s: no gradient after a step", rec.Name)
			continue
		}
		rel, err := goldenRelError(goldenFile(filepath.Join(out, "grad"), rec.Name), g.Data)
		if err != nil {
			t.Errorf("%s: %v", rec.Name, err)
			continue
		}
		if rel > 1e-4 {
			t.Errorf("gradient of %s: relative error %.3g > 1e-4 (||ours - peer|| / ||peer||)", rec.Name, rel)
		}
		if rel > worst {
			worst, worstName = rel, rec.Name
		}
		checked++
	}
	t.Logf("losses %.7f / %.7f (peer %.7f / %.7f); largest gradient relative error %.3g (%s)",
		stats.LossSuper, stats.LossSub, loss[0], loss[1], worst, worstName)
	// 6 convs x (weight, bn weight, bn bias) + fc1, fc2 (weight, bias) + V, W (weight, bias).
	if want := 6*3 + 4 + 4; checked != want {
		t.Errorf("checked %d gradients, want %d", checked, want)
	}
}

// writeGoldenInputs writes our initial weights (InitTrunk seed 1, heads
// from InitHeads) and a batch (normal pixels, labels drawn uniformly) to
// dir, one .npy a tensor.
func writeGoldenInputs(t *testing.T, dir string) {
	net, err := NewCPUBackend(BackendConfig{Model: goldenModel, Batch: goldenBatch, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	rng := rand.New(rand.NewPCG(28, 4))
	if err := net.SetHeads(goldenS, goldenK, rng); err != nil {
		t.Fatal(err)
	}
	st, err := net.State()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, rec := range st.Tensors {
		r, c := as2D(rec.Shape)
		if err := npy.Write(goldenFile(dir, rec.Name), r, c, rec.Data); err != nil {
			t.Fatal(err)
		}
		names = append(names, fmt.Sprintf("%s %v", rec.Name, rec.Shape))
	}
	// The tensor names and shapes, in State order, for the peer's loader.
	if err := os.WriteFile(filepath.Join(dir, "tensors.txt"), []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := goldenModel.Resolution
	x := make([]float32, goldenBatch*3*res*res)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	sup, sub := make([]int32, goldenBatch), make([]int32, goldenBatch)
	for i := range sup {
		sup[i], sub[i] = int32(rng.IntN(goldenS)), int32(rng.IntN(goldenK))
	}
	if err := npy.Write(filepath.Join(dir, "x.npy"), goldenBatch, 3*res*res, x); err != nil {
		t.Fatal(err)
	}
	if err := npy.Write(filepath.Join(dir, "super.npy"), goldenBatch, 1, sup); err != nil {
		t.Fatal(err)
	}
	if err := npy.Write(filepath.Join(dir, "sub.npy"), goldenBatch, 1, sub); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d tensors and the batch to %s; now run /usr/bin/python3 scripts/golden_peer.py %s", len(st.Tensors), dir, filepath.Dir(dir))
}

// readGoldenInputs reads what writeGoldenInputs wrote back into a State
// (shapes from tensors.txt) and a Batch.
func readGoldenInputs(t *testing.T, dir string) (*State, *Batch) {
	t.Helper()
	list, err := os.ReadFile(filepath.Join(dir, "tensors.txt"))
	if err != nil {
		t.Fatal(err)
	}
	st := &State{HeadS: goldenS, HeadK: goldenK}
	for _, line := range strings.Split(strings.TrimSpace(string(list)), "\n") {
		name, shapeText, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("%s: line %q: want NAME [SHAPE]", filepath.Join(dir, "tensors.txt"), line)
		}
		var shape []int
		for _, f := range strings.Fields(strings.Trim(shapeText, "[]")) {
			var d int
			if _, err := fmt.Sscan(f, &d); err != nil {
				t.Fatalf("%s: line %q: %v", filepath.Join(dir, "tensors.txt"), line, err)
			}
			shape = append(shape, d)
		}
		_, _, data, err := npy.Read[float32](goldenFile(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		st.Tensors = append(st.Tensors, TensorRecord{Name: name, Shape: shape, Data: data})
	}
	_, _, x, err := npy.Read[float32](filepath.Join(dir, "x.npy"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, sup, err := npy.Read[int32](filepath.Join(dir, "super.npy"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, sub, err := npy.Read[int32](filepath.Join(dir, "sub.npy"))
	if err != nil {
		t.Fatal(err)
	}
	b := &Batch{X: x}
	for i := range sup {
		b.Super = append(b.Super, int(sup[i]))
		b.Sub = append(b.Sub, int(sub[i]))
	}
	return st, b
}

// goldenSteps is the number of SGD steps of TestGoldenPeerSteps.
const goldenSteps = 10

// TestGoldenPeerSteps runs goldenSteps SGD steps from the golden weights,
// as the bench trains (lr 0.05, momentum 0.9, weight decay 1e-5 on every
// tensor), step t on the golden images with the labels rolled by t, and
// requires every tensor afterwards, batch-norm running statistics
// included, and every step's losses to match the PyTorch peer's
// (scripts/golden_peer.py --steps 10, testdata/golden/out-steps) to a
// relative error of 1e-4. TestGoldenPeer checks one step's gradients; this
// checks what a run does with them over many steps: the momentum and
// weight-decay update and the running statistics that the features are
// extracted with (issue 28: the same method should score the same).
func TestGoldenPeerSteps(t *testing.T) {
	st, batch := readGoldenInputs(t, filepath.Join(goldenDir, "in"))
	net, err := NewCPUBackend(BackendConfig{Model: goldenModel, Batch: goldenBatch, LR: 0.05, Momentum: 0.9, WeightDecay: 1e-5})
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	if err := net.LoadState(st); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(goldenDir, "out-steps")
	_, _, wantLoss, err := npy.Read[float32](filepath.Join(out, "loss.npy"))
	if err != nil {
		t.Fatalf("%v (make the fixtures with scripts/golden_peer.py --steps %d)", err, goldenSteps)
	}
	if len(wantLoss) != 2*goldenSteps {
		t.Fatalf("%s: %d losses, want %d steps of 2", filepath.Join(out, "loss.npy"), len(wantLoss), goldenSteps)
	}
	b := len(batch.Super)
	for step := range goldenSteps {
		rolled := &Batch{X: batch.X, Super: make([]int, b), Sub: make([]int, b)}
		for i := range b {
			rolled.Super[i], rolled.Sub[i] = batch.Super[(i+step)%b], batch.Sub[(i+step)%b]
		}
		stats, err := net.Step(rolled)
		if err != nil {
			t.Fatal(err)
		}
		for i, got := range []float64{stats.LossSuper, stats.LossSub} {
			want := float64(wantLoss[2*step+i])
			if rel := math.Abs(got-want) / math.Abs(want); rel > 1e-4 || math.IsNaN(rel) {
				t.Errorf("step %d: loss %s ours %.7f, the peer's %.7f: relative error %.2g > 1e-4", step, []string{"super", "sub"}[i], got, want, rel)
			}
		}
	}
	after, err := net.State()
	if err != nil {
		t.Fatal(err)
	}
	checked, worst, worstName := 0, 0.0, ""
	for _, rec := range st.Tensors {
		got := after.Tensor(rec.Name)
		if got == nil {
			t.Errorf("%s: missing after %d steps", rec.Name, goldenSteps)
			continue
		}
		rel, err := goldenRelError(goldenFile(filepath.Join(out, "state"), rec.Name), got.Data)
		if err != nil {
			t.Error(err)
			continue
		}
		if rel > 1e-4 {
			t.Errorf("%s after %d steps: relative error %.3g > 1e-4 (||ours - peer|| / ||peer||)", rec.Name, goldenSteps, rel)
		}
		// The weights must have moved, or the comparison says nothing
		// about the update.
		if !strings.Contains(rec.Name, "running_") && slices.Equal(got.Data, rec.Data) {
			t.Errorf("%s: unchanged after %d steps", rec.Name, goldenSteps)
		}
		if rel > worst {
			worst, worstName = rel, rec.Name
		}
		checked++
	}
	t.Logf("%d tensors after %d steps; largest relative error %.3g (%s)", checked, goldenSteps, worst, worstName)
	// The learnt tensors (see TestGoldenPeer) and 6 x 2 running statistics.
	if want := 6*3 + 4 + 4 + 6*2; checked != want {
		t.Errorf("checked %d tensors, want %d", checked, want)
	}
}

// goldenRelError is ||got - want|| / ||want|| for the fixture at path; a
// NaN (or a fixture of zeros) is reported as infinite.
func goldenRelError(path string, got []float32) (float64, error) {
	_, _, want, err := npy.Read[float32](path)
	if err != nil {
		return 0, err
	}
	if len(want) != len(got) {
		return 0, fmt.Errorf("%s: %d values, ours %d", path, len(want), len(got))
	}
	var diff, norm float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		diff += d * d
		norm += float64(want[i]) * float64(want[i])
	}
	rel := math.Sqrt(diff / norm)
	if norm == 0 || math.IsNaN(rel) {
		return math.Inf(1), nil
	}
	return rel, nil
}

package pipeline

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/cluster"
	"github.com/deepercluster/deepercluster/gpu/device"
	"github.com/deepercluster/deepercluster/trainer"
)

// newRun writes a run directory whose checkpoint holds a fresh network.
func newRun(t *testing.T, res int) string {
	t.Helper()
	run := t.TempDir()
	model := trainer.ModelConfig{Resolution: res, Width: 4, Depth: trainer.DefaultDepth(res), ConvsPerStage: 1, Hidden: 16}
	trunk, err := trainer.InitTrunk(model, 7)
	if err != nil {
		t.Fatal(err)
	}
	params := deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: 3, K: 2, PCADim: 8, ReclusterEvery: 1}
	if err := trainer.SaveCheckpoint(run, &trainer.Checkpoint{Model: model, Params: params, Seed: 7, Tensors: trunk}); err != nil {
		t.Fatal(err)
	}
	return run
}

// TestReclusterOpenCL runs `pipeline recluster --device opencl` (PoCL in
// CI): the features extracted on the device give the clustering the CPU
// gives, and a device that is not there fails before any version is
// stored.
func TestReclusterOpenCL(t *testing.T) {
	ctx := context.Background()
	const n, res = 240, 16
	ds := filepath.Join(t.TempDir(), "sharded")
	shardSynthetic(t, ds, n, res, []int{100, 140})
	assign := map[string]*deepercluster.Assignment{}
	for _, dev := range []string{"cpu", "opencl"} {
		run := newRun(t, res)
		got, err := Recluster(ctx, ReclusterConfig{RunDir: run, Dataset: ds, Iters: 5, Device: dev})
		if err != nil {
			t.Fatalf("--device %s: %v", dev, err)
		}
		if got.Version != 1 || got.Images != n {
			t.Fatalf("--device %s: version %d for %d images", dev, got.Version, got.Images)
		}
		if assign[dev], err = trainer.LoadAssignment(run, 1); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name      string
		got, want []int32
	}{{"super", assign["opencl"].Super, assign["cpu"].Super}, {"sub", assign["opencl"].Sub, assign["cpu"].Sub}} {
		if nmi := cluster.NMI(c.got, c.want); nmi < 0.99 {
			t.Errorf("%s: NMI %.4f between the OpenCL and the CPU extraction", c.name, nmi)
		}
	}

	t.Setenv(device.CUDALibraryEnv, "/nonexistent/libcuda.so.1")
	run := newRun(t, res)
	_, err := Recluster(ctx, ReclusterConfig{RunDir: run, Dataset: ds, Iters: 5, Device: "cuda"})
	if !errors.Is(err, device.ErrUnavailable) {
		t.Fatalf("--device cuda without libcuda: %v, want device.ErrUnavailable", err)
	}
	if v, lerr := trainer.LatestAssignmentVersion(run); lerr != nil || v != 0 {
		t.Fatalf("after the failed recluster: latest version %d (%v), want none", v, lerr)
	}
}

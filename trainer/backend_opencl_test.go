package trainer_test

import (
	"context"
	"math"
	"testing"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset/synthetic"
	"github.com/deepercluster/deepercluster/gpu"
	"github.com/deepercluster/deepercluster/trainer"
	"github.com/deepercluster/deepercluster/trainer/backendtest"
)

// openCL opens the OpenCL device (PoCL in CI, where make deps installs
// it: its absence fails, it does not skip) as --device opencl does.
func openCL(t *testing.T) *gpu.Compute {
	t.Helper()
	c, err := gpu.OpenCompute("opencl", nil)
	if err != nil {
		t.Fatalf("OpenCL is required for this test (make deps installs pocl-opencl-icd and ocl-icd-libopencl1): %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestOpenCLBackendContract is the backends table's contract
// (TestBackendContract, TestBackendLoadStateRejects in backend_test.go)
// for the GPU backend on OpenCL.
func TestOpenCLBackendContract(t *testing.T) {
	c := openCL(t)
	t.Run("contract", func(t *testing.T) { backendtest.Contract(t, c.NewBackend) })
	t.Run("load-rejects", func(t *testing.T) { backendtest.LoadStateRejects(t, c.NewBackend) })
}

// TestOpenCLRunCheckpointMoves trains a tiny run through trainer.Run on
// the CPU, resumes it on OpenCL, then on the CPU again: each leg goes on
// from the epoch the other reached, RunInfo names the device, and the
// checkpoint an OpenCL leg wrote extracts the same features on either
// device.
func TestOpenCLRunCheckpointMoves(t *testing.T) {
	ctx := context.Background()
	ocl := openCL(t)
	ds, err := synthetic.New(synthetic.Config{Seed: 3, N: 48, Resolution: 16})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	model := trainer.ModelConfig{Resolution: 16, Width: 4, Depth: 2, ConvsPerStage: 1, Hidden: 16}
	params := deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: 2, K: 2, PCADim: 4, ReclusterEvery: 1}
	cpu := &gpu.Compute{Info: deepercluster.DeviceInfo{Kind: "cpu", Name: "test CPU"}}
	for i, c := range []*gpu.Compute{cpu, ocl, cpu} {
		cfg := trainer.Config{Dir: dir, DatasetName: "synthetic", Params: params, Model: model, Epochs: i + 1, Batch: 8, Seed: 1,
			NewBackend: c.NewBackend, KMeans: c.KMeans, Device: c.Info}
		run, err := trainer.NewRun(ctx, cfg, ds, nil)
		if err != nil {
			t.Fatalf("leg %d (%s): %v", i, c.Info.Kind, err)
		}
		if err := run.Train(ctx); err != nil {
			run.Close()
			t.Fatalf("leg %d (%s): %v", i, c.Info.Kind, err)
		}
		info := run.Info()
		run.Close()
		if info.Device != c.Info {
			t.Fatalf("leg %d: RunInfo.Device %+v, want %+v", i, info.Device, c.Info)
		}
		ck, err := trainer.LoadCheckpoint(dir)
		if err != nil {
			t.Fatal(err)
		}
		if ck.Epoch != i+1 {
			t.Fatalf("leg %d (%s): checkpoint at epoch %d, want %d", i, c.Info.Kind, ck.Epoch, i+1)
		}
		if c != ocl {
			continue
		}
		// The OpenCL leg's checkpoint, loaded on both devices.
		x := make([]float32, 4*3*16*16)
		for j := range x {
			x[j] = float32(math.Sin(float64(j)))
		}
		feats := map[string][]float32{}
		for _, dc := range []*gpu.Compute{cpu, ocl} {
			net, _, err := trainer.LoadBackend(dir, trainer.LoadOptions{NewBackend: dc.NewBackend})
			if err != nil {
				t.Fatal(err)
			}
			f := make([]float32, 4*net.FeatureDim())
			err = net.Extract(x, 4, f)
			net.Close()
			if err != nil {
				t.Fatal(err)
			}
			feats[dc.Info.Kind] = f
		}
		var num, den float64
		for j, v := range feats["cpu"] {
			dv := float64(feats["opencl"][j] - v)
			num += dv * dv
			den += float64(v) * float64(v)
		}
		if rel := math.Sqrt(num / den); !(rel <= 1e-3) {
			t.Fatalf("features of the OpenCL checkpoint: relative difference %.2g between the CPU and OpenCL, want <= 1e-3", rel)
		}
	}
}

package gpu

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/cluster"
	"github.com/deepercluster/deepercluster/gpu/device"
)

// kmeansEngine is the cluster.Engine of dev, as gpu.OpenCompute makes it.
func kmeansEngine(dev device.Device) cluster.Engine {
	return func(x []float32, n, d int) (cluster.Lloyd, error) {
		km, err := NewKMeans(dev, x, n, d)
		if err != nil {
			return nil, err
		}
		return km, nil
	}
}

// TestOpenCLHierarchy runs the two-level clustering with its k-means
// steps on OpenCL (PoCL in CI) and on the CPU engine, from the same
// seed: the assignments agree on at least 99.9% of the points at both
// levels (they may differ only where float rounding breaks a near tie).
func TestOpenCLHierarchy(t *testing.T) {
	dev := openTestDevice(t)
	defer dev.Close()
	const n, d, blobs = 3000, 24, 12
	rng := rand.New(rand.NewPCG(5, 9))
	centres := make([]float32, blobs*d)
	for i := range centres {
		centres[i] = float32(rng.NormFloat64()) * 3
	}
	x := make([]float32, n*d)
	for i := range n {
		b := rng.IntN(blobs)
		for j := range d {
			x[i*d+j] = centres[b*d+j] + float32(rng.NormFloat64())
		}
	}
	ctx := context.Background()
	cfg := cluster.HierarchyConfig{Preset: deepercluster.PresetDeeperCluster, M: 4, K: 3, PCADim: 16, Iters: 10, Seed: 3}
	cpu, err := cluster.Hierarchy(ctx, x, n, d, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	engine, calls := kmeansEngine(dev), 0
	cfg.Engine = func(x []float32, n, d int) (cluster.Lloyd, error) { calls++; return engine(x, n, d) }
	ocl, err := cluster.Hierarchy(ctx, x, n, d, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1+cfg.M {
		t.Fatalf("the engine ran %d k-means, want %d (level 1 and one per super-cluster)", calls, 1+cfg.M)
	}
	for _, lv := range []struct {
		name      string
		got, want []int32
	}{{"super", ocl.Assignment.Super, cpu.Assignment.Super}, {"sub", ocl.Assignment.Sub, cpu.Assignment.Sub}} {
		same := 0
		for i := range lv.got {
			if lv.got[i] == lv.want[i] {
				same++
			}
		}
		share := float64(same) / float64(n)
		t.Logf("%s: %d of %d points assigned as the CPU engine does (%.4f)", lv.name, same, n, share)
		if share < 0.999 {
			t.Errorf("%s: %.4f of the points assigned as on the CPU, want >= 0.999", lv.name, share)
		}
	}
	if r := ocl.SuperObjective / cpu.SuperObjective; r < 0.999 || r > 1.001 {
		t.Errorf("level-1 objective %g on OpenCL, %g on the CPU", ocl.SuperObjective, cpu.SuperObjective)
	}
}

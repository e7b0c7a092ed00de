package pipeline

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/cluster"
)

// blobs writes n rows of d values around c well-separated centres, split
// into shards of the given sizes, and returns them whole as well.
func blobs(t *testing.T, work string, n, d, c int, shards []int, seed uint64) (Features, []float32) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	centres := make([]float32, c*d)
	for i := range centres {
		centres[i] = float32(r.NormFloat64() * 4)
	}
	x := make([]float32, n*d)
	for i := range n {
		g := r.IntN(c)
		for j := range d {
			x[i*d+j] = centres[g*d+j] + float32(r.NormFloat64()*0.3)
		}
	}
	f := Features{Work: work, Prefix: "raw", Rows: shards, Dim: d}
	if f.N() != n {
		t.Fatalf("shards hold %d rows, want %d", f.N(), n)
	}
	off := 0
	for s, rows := range shards {
		if err := f.WriteShard(s, x[off*d:(off+rows)*d]); err != nil {
			t.Fatal(err)
		}
		off += rows
	}
	return f, x
}

// TestOneIterationMatchesKMeans: one Lloyd iteration as Beam work gives
// the single-machine engine's centroids (within 1e-4) and assignments.
func TestOneIterationMatchesKMeans(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		pcaDim int
		shards []int
		m      int
	}{
		{"no pca, three shards", 0, []int{400, 250, 350}, 6},
		{"pca, uneven shards", 4, []int{10, 700, 0, 290}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const d = 8
			in, x := blobs(t, t.TempDir(), 1000, d, 7, tc.shards, 5)
			n := in.N()
			want, err := cluster.Hierarchy(ctx, x, n, d, cluster.HierarchyConfig{Preset: deepercluster.PresetDeeperCluster, M: tc.m, K: 1, PCADim: tc.pcaDim, Iters: 1, Seed: 11}, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ClusterFeatures(ctx, in, KMeansConfig{Preset: deepercluster.PresetDeeperCluster, M: tc.m, K: 1, PCADim: tc.pcaDim, Iters: 1, Seed: 11})
			if err != nil {
				t.Fatal(err)
			}
			if want.Splits > 0 {
				t.Fatalf("the single-machine iteration split %d clusters: pick data without empties", want.Splits)
			}
			if got.Dim != want.Dim {
				t.Fatalf("dimension %d, want %d", got.Dim, want.Dim)
			}
			for i := range n {
				if got.Assignment.Super[i] != want.Assignment.Super[i] {
					t.Fatalf("row %d: super %d, single machine %d", i, got.Assignment.Super[i], want.Assignment.Super[i])
				}
			}
			for i, v := range want.SuperCentroids {
				if math.Abs(float64(got.SuperCentroids[i]-v)) > 1e-4 {
					t.Fatalf("centroid value %d: %v, single machine %v", i, got.SuperCentroids[i], v)
				}
			}
			// K = 1: each sub-cluster is its super-cluster's mean.
			for i, v := range want.SubCentroids {
				if math.Abs(float64(got.SubCentroids[i]-v)) > 1e-4 {
					t.Fatalf("sub-centroid value %d: %v, single machine %v", i, got.SubCentroids[i], v)
				}
			}
			if got.ShuffleBytes <= 0 || got.Iterations != 2 {
				t.Fatalf("%d iterations, %d shuffle bytes", got.Iterations, got.ShuffleBytes)
			}
		})
	}
}

// TestClusterFeaturesMatchesHierarchy: the whole two-level clustering of
// 20,000 rows as Beam work agrees with cluster.Hierarchy on the same
// features and seed.
func TestClusterFeaturesMatchesHierarchy(t *testing.T) {
	ctx := context.Background()
	const n, d = 20000, 8
	in, x := blobs(t, t.TempDir(), n, d, 12, []int{5000, 7000, 3000, 5000}, 2)
	cfg := cluster.HierarchyConfig{Preset: deepercluster.PresetDeeperCluster, M: 4, K: 3, PCADim: 6, Iters: 8, Seed: 3}
	want, err := cluster.Hierarchy(ctx, x, n, d, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ClusterFeatures(ctx, in, KMeansConfig{Preset: cfg.Preset, M: cfg.M, K: cfg.K, PCADim: cfg.PCADim, Iters: cfg.Iters, Seed: cfg.Seed})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want []int32
	}{
		{"super", got.Assignment.Super, want.Assignment.Super},
		{"sub", got.Assignment.Sub, want.Assignment.Sub},
	} {
		nmi := cluster.NMI(c.got, c.want)
		t.Logf("%s NMI %.5f", c.name, nmi)
		if nmi < 0.99 {
			t.Errorf("%s-clusters: NMI %.4f against the single-machine clustering, want >= 0.99", c.name, nmi)
		}
	}
}

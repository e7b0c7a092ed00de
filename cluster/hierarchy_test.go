package cluster

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/deepercluster/deepercluster"
)

func TestHierarchyPresets(t *testing.T) {
	const n, d = 1200, 16
	x, lab := blobs(5, n, d, 6, 1)
	cases := []struct {
		preset     deepercluster.Preset
		m, k       int
		wantM      int
		wantSubs   int
		someClamps bool
	}{
		{deepercluster.PresetDeeperCluster, 3, 4, 3, 12, false},
		{deepercluster.PresetDeepCluster, 0, 6, 1, 6, false},
		{deepercluster.PresetRotNet, 6, 0, 6, 6, false},
		// k larger than many super-clusters: clamped to their size.
		{deepercluster.PresetDeeperCluster, 400, 5, 400, -1, true},
	}
	for _, tc := range cases {
		t.Run(string(tc.preset), func(t *testing.T) {
			var phases []deepercluster.Phase
			res, err := Hierarchy(context.Background(), x, n, d, HierarchyConfig{Preset: tc.preset, M: tc.m, K: tc.k, PCADim: 8, Iters: 10, Seed: 1},
				func(p deepercluster.Phase, done float64) {
					if done < 0 || done > 1 {
						t.Errorf("phase %s done %v", p, done)
					}
					if len(phases) == 0 || phases[len(phases)-1] != p {
						phases = append(phases, p)
					}
				})
			if err != nil {
				t.Fatal(err)
			}
			a := res.Assignment
			if err := a.Validate(); err != nil {
				t.Fatal(err)
			}
			if a.Version != 0 || a.M != tc.wantM || (tc.wantSubs > 0 && len(a.SubParent) != tc.wantSubs) || (len(res.Clamped) > 0) != tc.someClamps {
				t.Fatalf("version %d, M %d, %d subs, %d clamped", a.Version, a.M, len(a.SubParent), len(res.Clamped))
			}
			k := max(tc.k, 1)
			subsOf := make([]int, a.M)
			for _, p := range a.SubParent {
				subsOf[p]++
			}
			for s, size := range res.SuperSizes {
				if subsOf[s] != min(k, size) || slices.Contains(res.Clamped, s) != (size < k) {
					t.Fatalf("super %d of %d images: %d subs, clamped %v", s, size, subsOf[s], slices.Contains(res.Clamped, s))
				}
			}
			if len(res.SuperCentroids) != a.M*res.Dim || len(res.SubCentroids) != len(a.SubParent)*res.Dim || res.Dim != 8 {
				t.Fatalf("centroid sizes %d, %d for dim %d", len(res.SuperCentroids), len(res.SubCentroids), res.Dim)
			}
			sup, sub := a.Sizes()
			if !slices.Equal(sup, res.SuperSizes) || !slices.Equal(sub, res.SubSizes) {
				t.Fatal("reported sizes differ from the assignment")
			}
			for j, s := range sub {
				if s == 0 {
					t.Fatalf("sub-cluster %d is empty", j)
				}
			}
			want := []deepercluster.Phase{deepercluster.PhasePCA, deepercluster.PhaseLevel1, deepercluster.PhaseLevel2}
			if !slices.Equal(phases, want) {
				t.Fatalf("phases %v, want %v", phases, want)
			}
			// Six separated blobs, six (sub-)clusters: found exactly.
			if tc.wantSubs == 6 {
				if v := NMI(a.Sub, lab); v < 0.85 {
					t.Fatalf("NMI with the blobs %v", v)
				}
			}
		})
	}
}

func TestHierarchyErrors(t *testing.T) {
	x, _ := blobs(5, 100, 4, 2, 1)
	for _, cfg := range []HierarchyConfig{
		{Preset: deepercluster.PresetDeepCluster, M: 3, K: 2},
		{Preset: deepercluster.PresetRotNet, M: 3, K: 2},
		{Preset: "kmeans", M: 3, K: 2},
		{Preset: deepercluster.PresetDeeperCluster, M: 101, K: 2},
		{Preset: deepercluster.PresetDeeperCluster, M: 0, K: 2},
	} {
		if _, err := Hierarchy(context.Background(), x, 100, 4, cfg, nil); !errors.Is(err, ErrBadInput) {
			t.Errorf("%+v: error %v", cfg, err)
		}
	}
}

func TestHierarchyDeterministic(t *testing.T) {
	x, _ := blobs(9, 800, 10, 8, 2)
	cfg := HierarchyConfig{Preset: deepercluster.PresetDeeperCluster, M: 2, K: 5, PCADim: 6, Iters: 5, Seed: 3, PCASample: 500}
	a, err := Hierarchy(context.Background(), x, 800, 10, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Hierarchy(context.Background(), x, 800, 10, cfg, nil)
	if !slices.Equal(a.Assignment.Sub, b.Assignment.Sub) || !slices.Equal(a.SubCentroids, b.SubCentroids) {
		t.Fatal("same config, different hierarchies")
	}
}

// TestHierarchyRefineSuper: with RefineSuper the super-clusters are the
// refinement's clustering of the clustered features (the same call made
// directly gives the same labels), the centroids and sizes are theirs, the
// sub-clusters nest inside them, and on the two classes with a tail, where
// k-means cuts the wide class, the refined super-clusters match the classes
// better than plain k-means'.
func TestHierarchyRefineSuper(t *testing.T) {
	const n = 1000
	flat, y := blobsWithTail(n, 1)
	// A third, constant coordinate, so that the hierarchy's L2
	// normalisation keeps the two classes apart.
	x := make([]float32, 0, 3*2*n)
	for i := range 2 * n {
		x = append(x, flat[2*i], flat[2*i+1], 4)
	}
	ctx := context.Background()
	cfg := HierarchyConfig{Preset: deepercluster.PresetDeeperCluster, M: 2, K: 3, Iters: 20, Seed: 5}
	plain, err := Hierarchy(ctx, x, 2*n, 3, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := RefineOptions{Neighbours: 10, Steps: 300}
	cfg.RefineSuper = &opts
	res, err := Hierarchy(ctx, x, 2*n, 3, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := RefineNeighbours(ctx, plain.Features, 2*n, 3, RefineOptions{K: 2, Neighbours: 10, Steps: 300, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	a := res.Assignment
	if !slices.Equal(a.Super, direct.Assigned) {
		t.Fatal("super-clusters are not the refinement's clustering")
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	for i, z := range a.Sub {
		if a.SubParent[z] != a.Super[i] {
			t.Fatalf("row %d: sub-cluster %d of super %d, in super %d", i, z, a.SubParent[z], a.Super[i])
		}
	}
	g, err := groupMeans(res.Features, 2*n, 3, 2, a.Super)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(g.Sizes, res.SuperSizes) || !slices.Equal(g.Centroids, res.SuperCentroids) {
		t.Fatalf("sizes %v centroids %v, want the groups' %v %v", res.SuperSizes, res.SuperCentroids, g.Sizes, g.Centroids)
	}
	before, after := Accuracy(plain.Assignment.Super, y), Accuracy(a.Super, y)
	if before > 0.98 {
		t.Fatalf("k-means super-clusters already %.3f accurate: the data does not test the refinement", before)
	}
	if after < before+0.01 {
		t.Errorf("refined super-clusters %.3f accurate, k-means' %.3f: want better", after, before)
	}
	t.Logf("accuracy of the super-clusters: k-means %.4f, refined %.4f", before, after)
	if opts.K != 0 || opts.Seed != 0 {
		t.Errorf("the caller's options were changed: %+v", opts)
	}
}

// TestHierarchyRefineSuperEmptyKeepsKMeans: a refinement that empties a
// super-cluster (almost no entropy term, more super-clusters than the
// data has groups) leaves the k-means super-clusters in place.
func TestHierarchyRefineSuperEmptyKeepsKMeans(t *testing.T) {
	const n, d = 600, 8
	x, _ := blobs(3, n, d, 2, 1)
	ctx := context.Background()
	cfg := HierarchyConfig{Preset: deepercluster.PresetDeeperCluster, M: 6, K: 2, Iters: 20, Seed: 2}
	plain, err := Hierarchy(ctx, x, n, d, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := RefineOptions{Neighbours: 10, Steps: 300, EntropyWeight: 1e-9, LR: 0.5}
	direct, err := RefineNeighbours(ctx, plain.Features, n, d, RefineOptions{K: 6, Neighbours: 10, Steps: 300, EntropyWeight: 1e-9, LR: 0.5, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	used := map[int32]bool{}
	for _, s := range direct.Assigned {
		used[s] = true
	}
	if len(used) == 6 {
		t.Fatal("the refinement used all 6 super-clusters: the data does not test the fallback")
	}
	cfg.RefineSuper = &opts
	res, err := Hierarchy(ctx, x, n, d, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Assignment.Super, plain.Assignment.Super) || !slices.Equal(res.SuperSizes, plain.SuperSizes) {
		t.Errorf("refinement used %d of 6 super-clusters, yet the k-means super-clusters were replaced", len(used))
	}
}

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

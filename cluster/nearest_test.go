package cluster

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/deepercluster/deepercluster"
)

// bruteNearest is the definition: every distance in float64, sorted.
func bruteNearest(x []float32, n, d int, q []float32, k, skip int) []Neighbor {
	var all []Neighbor
	for i := range n {
		if i == skip {
			continue
		}
		s := 0.0
		for j := range d {
			v := float64(x[i*d+j]) - float64(q[j])
			s += v * v
		}
		all = append(all, Neighbor{i, float32(math.Sqrt(s))})
	}
	slices.SortFunc(all, func(a, b Neighbor) int {
		if a.Dist != b.Dist {
			if a.Dist < b.Dist {
				return -1
			}
			return 1
		}
		return a.Index - b.Index
	})
	return all[:min(k, len(all))]
}

func TestKNNMatchesBruteForce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n, d, k int
		skip    int
	}{
		{"one block", 500, 8, 10, 3},
		{"several blocks", 40000, 16, 25, -1},
		{"k over n", 7, 4, 20, 0},
		{"k zero", 50, 4, 0, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.n)))
			x := make([]float32, tc.n*tc.d)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			knn, err := NewKNN(x, tc.n, tc.d)
			if err != nil {
				t.Fatal(err)
			}
			q := slices.Clone(x[:tc.d]) // row 0: its own nearest unless skipped
			got, err := knn.Search(q, tc.k, tc.skip)
			if err != nil {
				t.Fatal(err)
			}
			want := bruteNearest(x, tc.n, tc.d, q, tc.k, tc.skip)
			if len(got) != len(want) {
				t.Fatalf("%d neighbours, want %d", len(got), len(want))
			}
			for i := range got {
				// Same set in the same order up to float32 rounding of
				// near-ties: compare distances, and indices where the
				// distances are clearly apart.
				if math.Abs(float64(got[i].Dist-want[i].Dist)) > 1e-3*math.Max(1, float64(want[i].Dist)) {
					t.Fatalf("neighbour %d: %+v, want %+v", i, got[i], want[i])
				}
				if got[i].Index == tc.skip {
					t.Fatalf("row %d was to be left out", tc.skip)
				}
			}
			if tc.skip != 0 && tc.k > 0 && (got[0].Index != 0 || got[0].Dist > 1e-3) {
				t.Fatalf("the query's own row should come first at distance 0: %+v", got[0])
			}
		})
	}
}

func TestKNNBadInput(t *testing.T) {
	if _, err := NewKNN(make([]float32, 5), 2, 3); !errors.Is(err, ErrBadInput) {
		t.Fatalf("short matrix: %v", err)
	}
	knn, err := NewKNN(make([]float32, 6), 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := knn.Search(make([]float32, 2), 1, -1); !errors.Is(err, ErrBadInput) {
		t.Fatalf("short query: %v", err)
	}
}

func TestHierarchyKeepsClusteredFeatures(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n, d := 300, 12
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	res, err := Hierarchy(t.Context(), x, n, d, HierarchyConfig{Preset: deepercluster.PresetDeeperCluster, M: 3, K: 2, PCADim: 6, Iters: 3, Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Features) != n*res.Dim || res.Dim != 6 {
		t.Fatalf("features of %d values, dim %d", len(res.Features), res.Dim)
	}
	for i := range n {
		r := res.Features[i*res.Dim : (i+1)*res.Dim]
		if nrm := math.Sqrt(float64(dot32(r, r))); math.Abs(nrm-1) > 1e-4 {
			t.Fatalf("row %d has norm %v, want 1 (L2-normalised after PCA)", i, nrm)
		}
	}
}

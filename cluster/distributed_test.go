package cluster

import (
	"context"
	"math/rand/v2"
	"testing"
)

func TestDistributedPiecesMatchKMeans(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		n, d, k int
	}{
		{"small", 200, 5, 4},
		{"odd sizes", 333, 17, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			x := make([]float32, tc.n*tc.d)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			// One Lloyd iteration of KMeans is: the first centroids from
			// KMeansRNG's permutation, then an assignment step.
			km, err := KMeans(ctx, x, tc.n, tc.d, KMeansOptions{K: tc.k, Iters: 1, Seed: 9})
			if err != nil {
				t.Fatal(err)
			}
			perm := KMeansRNG(9).Perm(tc.n)
			cent := make([]float32, tc.k*tc.d)
			for c := range tc.k {
				copy(cent[c*tc.d:], x[perm[c]*tc.d:perm[c]*tc.d+tc.d])
			}
			out := make([]int32, tc.n)
			obj, err := Assign(ctx, x, tc.n, tc.d, cent, tc.k, out, 0)
			if err != nil {
				t.Fatal(err)
			}
			if km.Splits == 0 {
				for i := range out {
					if out[i] != km.Assign[i] {
						t.Fatalf("row %d: Assign %d, KMeans %d", i, out[i], km.Assign[i])
					}
				}
			}
			if d := obj - km.Objective; d > 1e-6*km.Objective || d < -1e-6*km.Objective {
				t.Fatalf("objective %v, KMeans %v", obj, km.Objective)
			}
			p, err := FitPCA(ctx, x, tc.n, tc.d, 3, PCAOptions{})
			if err != nil {
				t.Fatal(err)
			}
			q, err := RestorePCA(&PCA{InDim: p.InDim, OutDim: p.OutDim, Mean: p.Mean, Eigenvalues: p.Eigenvalues, W: p.W})
			if err != nil {
				t.Fatal(err)
			}
			a, _ := p.Apply(x, tc.n)
			b, _ := q.Apply(x, tc.n)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("restored PCA differs at %d: %v vs %v", i, b[i], a[i])
				}
			}
		})
	}
}

func TestSplitEmptyCentroidsRefillsEveryEmpty(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sizes []int
		want  int
	}{
		{"none empty", []int{3, 4}, 0},
		{"one empty", []int{10, 0, 5}, 1},
		{"two empty", []int{0, 8, 0}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := 4
			cent := make([]float32, len(tc.sizes)*d)
			for i := range cent {
				cent[i] = float32(i + 1)
			}
			sizes := append([]int(nil), tc.sizes...)
			if got := SplitEmptyCentroids(cent, sizes, d, KMeansRNG(1)); got != tc.want {
				t.Fatalf("refilled %d, want %d", got, tc.want)
			}
			for c, s := range sizes {
				if s == 0 {
					t.Fatalf("cluster %d still empty: %v", c, sizes)
				}
				if tc.sizes[c] == 0 && cent[c*d] == 0 {
					t.Fatalf("cluster %d got no centroid", c)
				}
			}
		})
	}
}

package cluster

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
)

// blobsWithTail draws n rows per class in 2-D: class 0 wide (x ~ N(0, 1)),
// class 1 narrow (x ~ N(3.5, 0.2)), both with y ~ N(0, 0.3). k-means puts
// its boundary half-way between the means and hands the wide class's tail
// (about 4% of it) to the narrow one; the classes' gap is empty, so each
// row's nearest neighbours know better.
func blobsWithTail(n int, seed uint64) ([]float32, []int32) {
	rng := rand.New(rand.NewPCG(seed, 7))
	x := make([]float32, 0, 4*n)
	y := make([]int32, 0, 2*n)
	for c := range 2 {
		for range n {
			mu, sd := 0.0, 1.0
			if c == 1 {
				mu, sd = 3.5, 0.2
			}
			x = append(x, float32(mu+sd*rng.NormFloat64()), float32(0.3*rng.NormFloat64()))
			y = append(y, int32(c))
		}
	}
	return x, y
}

func TestRefineNeighboursFixesMislabelled(t *testing.T) {
	const n = 1000
	x, y := blobsWithTail(n, 1)
	xNew, yNew := blobsWithTail(n, 2)
	for _, tc := range []struct {
		name string
		opts RefineOptions
	}{
		{"scan+self-label", RefineOptions{K: 2, Neighbours: 10, Raw: true, Seed: 1, Steps: 300}},
		{"scan only", RefineOptions{K: 2, Neighbours: 10, Raw: true, Seed: 1, Threshold: 2, LR: 0.1}},
		{"diffusion+scan", RefineOptions{K: 2, Neighbours: 10, Raw: true, Seed: 1, Diffuse: 2, LR: 0.05}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := RefineNeighbours(context.Background(), x, 2*n, 2, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			before, after := 2*n-int(Accuracy(r.Initial, y)*2*n+0.5), 2*n-int(Accuracy(r.Assigned, y)*2*n+0.5)
			// The test fails if k-means were already right: then there is
			// nothing to fix.
			if before < 20 {
				t.Fatalf("k-means mislabels %d of %d rows: the data does not test the refinement", before, 2*n)
			}
			if after > before/4 {
				t.Errorf("refined: %d mislabelled rows, k-means %d: want at most a quarter", after, before)
			}
			got, err := r.Assign(context.Background(), xNew, 2*n)
			if err != nil {
				t.Fatal(err)
			}
			if wrong := 2*n - int(Accuracy(got, yNew)*2*n+0.5); wrong > before/4 {
				t.Errorf("new rows: %d mislabelled, k-means on the fitted rows %d: want at most a quarter", wrong, before)
			}
			t.Logf("mislabelled: k-means %d, refined %d, confident %d", before, after, r.Confident)
		})
	}
}

func TestRefineNeighboursBadInput(t *testing.T) {
	x, _ := blobsWithTail(20, 1)
	for _, tc := range []struct {
		name string
		x    []float32
		n, d int
		opts RefineOptions
	}{
		{"too few values", x[:10], 40, 2, RefineOptions{K: 2, Neighbours: 3}},
		{"one cluster", x, 40, 2, RefineOptions{K: 1, Neighbours: 3}},
		{"more clusters than rows", x, 40, 2, RefineOptions{K: 41, Neighbours: 3}},
		{"as many neighbours as rows", x, 40, 2, RefineOptions{K: 2, Neighbours: 40}},
		{"alpha above 1", x, 40, 2, RefineOptions{K: 2, Neighbours: 3, Alpha: 1.5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := RefineNeighbours(context.Background(), tc.x, tc.n, tc.d, tc.opts); !errors.Is(err, ErrBadInput) {
				t.Errorf("err = %v, want ErrBadInput", err)
			}
		})
	}
}

// TestSearchManyMatchesSearch checks the batched neighbour search against
// one Search per query, with and without leaving out the query's own row.
func TestSearchManyMatchesSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n, d, want = 700, 5, 6
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	k, err := NewKNN(x, n, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, self := range []bool{true, false} {
		got, err := k.SearchMany(context.Background(), x, n, want, self)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			skip := -1
			if self {
				skip = i
			}
			nb, err := k.Search(x[i*d:(i+1)*d], want, skip)
			if err != nil {
				t.Fatal(err)
			}
			for p, b := range nb {
				if g := got[i*want+p]; int(g) != b.Index {
					t.Fatalf("self=%v query %d neighbour %d: SearchMany %d, Search %d", self, i, p, g, b.Index)
				}
			}
		}
	}
}

package cluster

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// correlated makes n rows in d dimensions with very different variances
// along random directions, plus an offset.
func correlated(seed uint64, n, d int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	mix := make([]float64, d*d)
	for i := range mix {
		mix[i] = rng.NormFloat64()
	}
	x := make([]float32, n*d)
	z := make([]float64, d)
	for i := 0; i < n; i++ {
		for j := range z {
			z[j] = rng.NormFloat64() * float64(j+1) // scales 1..d
		}
		for j := 0; j < d; j++ {
			s := 5.0 + float64(j)
			for l := 0; l < d; l++ {
				s += mix[j*d+l] * z[l]
			}
			x[i*d+j] = float32(s)
		}
	}
	return x
}

func TestPCAWhitensToIdentity(t *testing.T) {
	const n, d, out = 20000, 12, 5
	x := correlated(1, n, d)
	for _, sample := range []int{0, 8000} {
		p, err := FitPCA(context.Background(), x, n, d, out, PCAOptions{SampleSize: sample, Seed: 4})
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i < out; i++ {
			if p.Eigenvalues[i] > p.Eigenvalues[i-1] {
				t.Fatalf("eigenvalues not descending: %v", p.Eigenvalues)
			}
		}
		y, err := p.project(x, n)
		if err != nil {
			t.Fatal(err)
		}
		// Covariance of the projection: identity (within sampling error
		// when fitted on a sample).
		tol := 0.01
		if sample > 0 {
			tol = 0.08
		}
		mean := make([]float64, out)
		for i := 0; i < n; i++ {
			for j := 0; j < out; j++ {
				mean[j] += float64(y[i*out+j]) / n
			}
		}
		for a := 0; a < out; a++ {
			if math.Abs(mean[a]) > tol {
				t.Errorf("sample %d: mean of component %d = %v", sample, a, mean[a])
			}
			for b := 0; b < out; b++ {
				var s float64
				for i := 0; i < n; i++ {
					s += (float64(y[i*out+a]) - mean[a]) * (float64(y[i*out+b]) - mean[b])
				}
				s /= n - 1
				want := 0.0
				if a == b {
					want = 1
				}
				if math.Abs(s-want) > tol {
					t.Errorf("sample %d: covariance[%d][%d] = %v, want %v", sample, a, b, s, want)
				}
			}
		}
		z, err := p.Apply(x[:100*d], 100)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 100; i++ {
			row := z[i*out : (i+1)*out]
			if nrm := math.Sqrt(float64(dot32(row, row))); math.Abs(nrm-1) > 1e-5 {
				t.Fatalf("row %d has norm %v after Apply", i, nrm)
			}
		}
	}
}

func TestPCAReproducibleAndErrors(t *testing.T) {
	x := correlated(2, 500, 6)
	a, err := FitPCA(context.Background(), x, 500, 6, 3, PCAOptions{SampleSize: 300, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := FitPCA(context.Background(), x, 500, 6, 3, PCAOptions{SampleSize: 300, Seed: 1})
	for i := range a.W {
		if a.W[i] != b.W[i] {
			t.Fatal("same seed, different projections")
		}
	}
	for _, tc := range []struct {
		n, d, out int
	}{{500, 6, 7}, {500, 6, 0}, {1, 6, 2}, {0, 6, 2}} {
		if _, err := FitPCA(context.Background(), x, tc.n, tc.d, tc.out, PCAOptions{}); !errors.Is(err, ErrBadInput) {
			t.Errorf("n=%d d=%d out=%d: error %v", tc.n, tc.d, tc.out, err)
		}
	}
	if _, err := a.Apply(x[:10], 5); !errors.Is(err, ErrBadInput) {
		t.Errorf("short input to Apply: %v", err)
	}
}

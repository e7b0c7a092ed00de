package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/deepercluster/deepercluster/internal/par"
)

// The pieces of KMeans and Hierarchy that a distributed k-means (the Beam
// pipeline in pipeline/) runs on its own: the same random stream, the same
// assignment kernel, the same split of empty clusters and the same PCA,
// so that its clustering matches this package's on the same features.

// KMeansRNG is the random stream KMeans draws from for a seed: InitRandom
// takes the first K entries of its Perm(n) as the first centroids, and
// the splits of empty clusters draw from it after that.
func KMeansRNG(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x6b6d65616e73))
}

// Assign writes into out the nearest of the k centroids (k x d) for every
// row of x (n x d), with KMeans's assignment kernel, and returns the sum
// of squared distances. threads 0 means par.Threads().
func Assign(ctx context.Context, x []float32, n, d int, cent []float32, k int, out []int32, threads int) (float64, error) {
	if n == 0 {
		return 0, nil
	}
	if err := checkMatrix(x, n, d); err != nil {
		return 0, fmt.Errorf("assign: %w", err)
	}
	if k < 1 || len(cent) < k*d || len(out) < n {
		return 0, fmt.Errorf("assign: %w: %d centroids of %d values, %d outputs for %d rows", ErrBadInput, k, len(cent), len(out), n)
	}
	if threads <= 0 {
		threads = par.Threads()
	}
	return newEStep(kernels, n, d, k, threads).assign(ctx, x, rowNorms(x, n, d), cent, out)
}

// SplitEmptyCentroids refills the empty clusters (sizes[c] == 0) of a
// k-means whose rows are elsewhere, as KMeans does: a donor is drawn from
// rng with probability proportional to its size minus one, the empty
// cluster gets the donor's centroid scaled by (1+eps) on even and (1-eps)
// on odd dimensions and the donor the opposite. The rows are not moved
// here: the next assignment step divides the donor's rows between the two.
// sizes is updated as if the donor's rows were halved. It returns the
// number of clusters refilled.
func SplitEmptyCentroids(cent []float32, sizes []int, d int, rng *rand.Rand) int {
	k := len(sizes)
	total := 0
	var empties []int
	for c, s := range sizes {
		if s == 0 {
			empties = append(empties, c)
		} else {
			total += s - 1
		}
	}
	for _, e := range empties {
		if total <= 0 {
			break
		}
		donor := pickDonor(rng, total, k, func(c int) int { return sizes[c] })
		splitCentroid(cent, d, donor, e)
		s := sizes[donor]
		sizes[donor], sizes[e] = s/2, s-s/2
		total--
	}
	return len(empties)
}

// NormalizeRows returns the n rows of x (n x d) scaled to unit length, as
// Hierarchy does without PCA (zero rows stay zero).
func NormalizeRows(x []float32, n, d int) []float32 { return normalizedCopy(x, n, d) }

// RestorePCA rebuilds a fitted PCA from its exported fields (as stored by
// gob or JSON), so that Apply works on another machine.
func RestorePCA(p *PCA) (*PCA, error) {
	if p.InDim < 1 || p.OutDim < 1 || len(p.Mean) != p.InDim || len(p.W) != p.InDim*p.OutDim {
		return nil, fmt.Errorf("pca: %w: %d -> %d with %d means and %d weights", ErrBadInput, p.InDim, p.OutDim, len(p.Mean), len(p.W))
	}
	q := *p
	q.bias = pcaBias(q.Mean, q.W, q.InDim, q.OutDim)
	return &q, nil
}

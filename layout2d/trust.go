package layout2d

import (
	"context"
	"fmt"

	"github.com/deepercluster/deepercluster/cluster"
	"github.com/deepercluster/deepercluster/internal/par"
)

// Trustworthiness measures how much of a layout's local structure is real,
// with scikit-learn's definition (sklearn.manifold.trustworthiness, the
// Euclidean metric): with r(i,j) the rank of j among the rows nearest to i
// in the input space (1 for the nearest) and U_i the k nearest to i in the
// layout,
//
//	T(k) = 1 - 2/(n k (2n - 3k - 1)) * sum_i sum_{j in U_i} max(0, r(i,j) - k).
//
// x is n x d (the input), y n x dy (the layout); k < n/2. Equal distances
// rank by row number, as a stable sort would. It costs O(n^2 d) (matrix
// products on threads goroutines, 0: par.Threads()): meant for samples of
// some thousands of rows.
func Trustworthiness(ctx context.Context, x []float32, d int, y []float32, dy, k, threads int) (float64, error) {
	if d < 1 || dy < 1 || len(x)%d != 0 || len(y)%dy != 0 || len(x)/d != len(y)/dy {
		return 0, fmt.Errorf("trustworthiness: %w: %d input values of dimension %d, %d layout values of dimension %d", ErrBadInput, len(x), d, len(y), dy)
	}
	n := len(x) / d
	if k < 1 || 2*k >= n {
		return 0, fmt.Errorf("trustworthiness: %w: k = %d for %d rows (want k < n/2)", ErrBadInput, k, n)
	}
	if threads <= 0 {
		threads = par.Threads()
	}
	emb, err := exactKNN(ctx, y, n, dy, k, nil, threads, nil)
	if err != nil {
		return 0, fmt.Errorf("trustworthiness: layout neighbours: %w", err)
	}
	norms := rowNorms(x, n, d)
	blocks := (n + qBlock - 1) / qBlock
	sums := make([]float64, blocks)
	err = par.Chunks(ctx, blocks, threads, func(_, bk int) {
		var gm cluster.Gemm
		lo, hi := bk*qBlock, min(n, (bk+1)*qBlock)
		rows := hi - lo
		scores := make([]float32, rows*n)
		gm.Sgemm(false, true, rows, n, d, 1, x[lo*d:hi*d], d, x, d, 0, scores, n)
		var s float64
		for r := range rows {
			i := lo + r
			row := scores[r*n : (r+1)*n]
			// Squared distances from i; its own is never nearer.
			for j, dot := range row {
				row[j] = max(0, norms[i]+norms[j]-2*dot)
			}
			nb, _ := emb.Row(i)
			for _, j := range nb {
				dj := row[j]
				rank := 1
				for l, dl := range row {
					if l != i && (dl < dj || (dl == dj && l < int(j))) {
						rank++
					}
				}
				if rank > k {
					s += float64(rank - k)
				}
			}
		}
		sums[bk] = s
	})
	if err != nil {
		return 0, fmt.Errorf("trustworthiness: %w", err)
	}
	var t float64
	for _, s := range sums {
		t += s
	}
	fn, fk := float64(n), float64(k)
	return 1 - t*2/(fn*fk*(2*fn-3*fk-1)), nil
}

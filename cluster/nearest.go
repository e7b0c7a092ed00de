package cluster

import (
	"container/heap"
	"context"
	"fmt"
	"math"

	"github.com/deepercluster/deepercluster/internal/par"
)

// Neighbor is one answer of an exact nearest-neighbour search: a row of the
// searched matrix and its Euclidean distance to the query.
type Neighbor struct {
	Index int
	Dist  float32
}

// KNN answers exact nearest-neighbour queries over the rows of an n x d
// row-major matrix with one matrix product per query batch (Sgemm): the
// squared distance is |x|^2 + |q|^2 - 2 x.q, with the row norms computed
// once. It holds the matrix (not a copy) and n more floats; it is safe for
// concurrent use.
type KNN struct {
	x     []float32
	n, d  int
	norms []float32 // squared norm of each row
}

// NewKNN prepares searches over x (n x d), which must not change while the
// KNN is in use.
func NewKNN(x []float32, n, d int) (*KNN, error) {
	if err := checkMatrix(x, n, d); err != nil {
		return nil, fmt.Errorf("knn: %w", err)
	}
	k := &KNN{x: x[:n*d], n: n, d: d, norms: make([]float32, n)}
	for i := range n {
		r := x[i*d : (i+1)*d]
		k.norms[i] = dot32(r, r)
	}
	return k, nil
}

// Len is the number of rows searched.
func (k *KNN) Len() int { return k.n }

// knnBlock is the number of rows scored per product: the scores of one
// block stay in cache while the best are picked from them.
const knnBlock = 16384

// Search returns the k rows nearest to q (length d), nearest first (ties
// by row), leaving out row skip (pass -1 to keep every row).
func (k *KNN) Search(q []float32, want, skip int) ([]Neighbor, error) {
	if len(q) != k.d {
		return nil, fmt.Errorf("knn: %w: query of length %d, rows of %d", ErrBadInput, len(q), k.d)
	}
	if want < 0 {
		return nil, fmt.Errorf("knn: %w: k = %d", ErrBadInput, want)
	}
	qn := dot32(q, q)
	h := &nbHeap{}
	scores := make([]float32, min(knnBlock, k.n))
	for lo := 0; lo < k.n && want > 0; lo += knnBlock {
		rows := min(knnBlock, k.n-lo)
		s := scores[:rows]
		// s = X[lo:lo+rows] * q (a rows x 1 product).
		Sgemm(false, true, rows, 1, k.d, 1, k.x[lo*k.d:], k.d, q, k.d, 0, s, 1)
		for r, dot := range s {
			i := lo + r
			if i == skip {
				continue
			}
			d2 := k.norms[i] + qn - 2*dot
			if len(*h) < want {
				heap.Push(h, Neighbor{i, d2})
			} else if d2 < (*h)[0].Dist {
				(*h)[0] = Neighbor{i, d2}
				heap.Fix(h, 0)
			}
		}
	}
	out := make([]Neighbor, len(*h))
	for j := len(out) - 1; j >= 0; j-- {
		nb := heap.Pop(h).(Neighbor)
		nb.Dist = float32(math.Sqrt(math.Max(0, float64(nb.Dist))))
		out[j] = nb
	}
	return out, nil
}

// nbHeap is a max-heap on distance (row breaks ties, larger first), so its
// top is the worst of the best found so far.
type nbHeap []Neighbor

func (h nbHeap) Len() int { return len(h) }
func (h nbHeap) Less(i, j int) bool {
	if h[i].Dist != h[j].Dist {
		return h[i].Dist > h[j].Dist
	}
	return h[i].Index > h[j].Index
}
func (h nbHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *nbHeap) Push(x any)   { *h = append(*h, x.(Neighbor)) }
func (h *nbHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// knnQueryBlock is the number of queries scored per product by SearchMany:
// a block of queries against a block of rows is one matrix product, far
// faster than one matrix-vector product per query.
const knnQueryBlock = 256

// SearchMany answers nq queries (q, nq x d, row-major) at once and returns
// nq*want row indices, query i's nearest first in [i*want, (i+1)*want).
// With self set, the queries are the searched rows themselves and query i
// leaves out row i (a k-nearest-neighbour graph). It batches queries into
// matrix products, so a graph over tens of thousands of rows takes seconds
// where one Search per row would take minutes. Fewer than want rows leave
// the rest of a query's slots at -1.
func (k *KNN) SearchMany(ctx context.Context, q []float32, nq, want int, self bool) ([]int32, error) {
	if want < 0 {
		return nil, fmt.Errorf("knn: %w: k = %d", ErrBadInput, want)
	}
	if err := checkMatrix(q, nq, k.d); err != nil {
		return nil, fmt.Errorf("knn queries: %w", err)
	}
	if self && nq != k.n {
		return nil, fmt.Errorf("knn: %w: self search with %d queries over %d rows", ErrBadInput, nq, k.n)
	}
	out := make([]int32, nq*want)
	for i := range out {
		out[i] = -1
	}
	if want == 0 {
		return out, nil
	}
	rb := min(knnBlock/4, k.n)
	scores := make([]float32, knnQueryBlock*rb)
	heaps := make([]nbHeap, knnQueryBlock)
	for qlo := 0; qlo < nq; qlo += knnQueryBlock {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("knn: %w", err)
		}
		qs := min(knnQueryBlock, nq-qlo)
		for j := range qs {
			heaps[j] = heaps[j][:0]
		}
		for lo := 0; lo < k.n; lo += rb {
			rows := min(rb, k.n-lo)
			s := scores[:qs*rows]
			// s = Q[qlo:qlo+qs] * X[lo:lo+rows]^T.
			Sgemm(false, true, qs, rows, k.d, 1, q[qlo*k.d:], k.d, k.x[lo*k.d:], k.d, 0, s, rows)
			par.For(qs, par.Threads(), func(a, b int) {
				for j := a; j < b; j++ {
					qi := qlo + j
					h := &heaps[j]
					// The query's own squared norm shifts every distance
					// equally, so the ranking leaves it out.
					for r, dot := range s[j*rows : (j+1)*rows] {
						i := lo + r
						if self && i == qi {
							continue
						}
						d2 := k.norms[i] - 2*dot
						if len(*h) < want {
							heap.Push(h, Neighbor{i, d2})
						} else if d2 < (*h)[0].Dist {
							(*h)[0] = Neighbor{i, d2}
							heap.Fix(h, 0)
						}
					}
				}
			})
		}
		for j := range qs {
			h := &heaps[j]
			row := out[(qlo+j)*want : (qlo+j+1)*want]
			for p := len(*h) - 1; p >= 0; p-- {
				row[p] = int32(heap.Pop(h).(Neighbor).Index)
			}
		}
	}
	return out, nil
}

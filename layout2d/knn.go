package layout2d

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/deepercluster/deepercluster/cluster"
	"github.com/deepercluster/deepercluster/internal/par"
)

// ErrBadInput is wrapped by the errors of arguments that cannot be used.
var ErrBadInput = errors.New("bad input")

// Graph is a k-nearest-neighbour graph: row r lists the K nearest rows of
// the data to row r (or to queries[r], for ExactKNN with queries), nearest
// first, never the row itself.
type Graph struct {
	N, K int
	// Index is N x K: the neighbours' row numbers.
	Index []int32
	// Dist is N x K: their Euclidean distances.
	Dist []float32
}

// Row is the neighbours of row r and their distances.
func (g *Graph) Row(r int) ([]int32, []float32) {
	return g.Index[r*g.K : (r+1)*g.K], g.Dist[r*g.K : (r+1)*g.K]
}

// KNNOptions configure KNN. The zero value is usable.
type KNNOptions struct {
	// K is the number of neighbours (default 15).
	K int
	// Threads is the number of goroutines (default par.Threads()).
	Threads int
	// Seed makes the result reproducible.
	Seed uint64
	// ExactBelow: at most this many rows are searched exactly by matrix
	// products, which is then cheaper than NN-descent (default 20,000;
	// negative: never).
	ExactBelow int
	// Trees is the number of random-projection trees that start
	// NN-descent (default 4), LeafSize their largest leaf (default
	// max(2K, 32)). More trees raise the starting recall but little the
	// final one: on the benchmark's data (bench/map) 12 trees instead of 4
	// gave 0.940 instead of 0.933 at 200,000 rows for a fifth more time,
	// where candidates buy more.
	Trees, LeafSize int
	// MaxCandidates is the number of neighbour-of-neighbour candidates
	// (new and old each, forward and reverse together) that one
	// NN-descent iteration joins per row (default: DefaultCandidates(N,
	// SearchK)). With K of them NN-descent settles in a local optimum whose
	// recall falls as N grows (on bench/map's data 0.86 at 200,000 rows,
	// 0.61 at 1,000,000); more candidates reach further and also converge
	// in fewer iterations.
	MaxCandidates int
	// SearchK is the number of neighbours a row keeps while NN-descent
	// searches, of which it returns the K nearest (default:
	// DefaultSearchK(N, K)): longer lists reach further in each join,
	// which at large N more candidates alone do not.
	SearchK int
	// MaxIters bounds the NN-descent iterations (default max(12,
	// log2 N)); they stop earlier when fewer than Delta*N*K neighbours
	// changed in one (default 0.001), which is what ends them on the
	// benchmark's data.
	MaxIters int
	Delta    float64
	// Progress, when set, is called with the fraction done in [0,1].
	Progress func(done float64)
}

// DefaultCandidates is KNNOptions.MaxCandidates's default for n rows and
// k neighbours a row (SearchK): k up to 50,000 rows, where k candidates find
// nearly all neighbours, then k*(1 + log2(n/50,000)/2.5), at most 2k (a
// row's forward and reverse neighbours, about 2k, are all there is to
// sample). A row's join costs about 1.5*candidates^2 distances per
// iteration, but the larger joins converge in fewer iterations.
func DefaultCandidates(n, k int) int {
	if n <= candidateBase {
		return k
	}
	return min(2*k, int(math.Round(float64(k)*(1+math.Log2(float64(n)/candidateBase)/candidateSlope))))
}

// DefaultSearchK is KNNOptions.SearchK's default for n rows and k
// neighbours: k up to 200,000 rows, then k*(1 + log2(n/200,000)/3.8) (24
// for k 15 at 1,000,000 rows). Past 2k candidates only longer lists raise
// recall: on bench/map's data at 1,000,000 rows, lists of 15 with 41
// candidates settled near 0.80, lists of 24 with 48 reached 0.93.
func DefaultSearchK(n, k int) int {
	if n <= searchBase {
		return k
	}
	return int(math.Round(float64(k) * (1 + math.Log2(float64(n)/searchBase)/searchSlope)))
}

// The growth of DefaultCandidates and DefaultSearchK with N.
const (
	candidateBase  = 50000
	candidateSlope = 2.5
	searchBase     = 200000
	searchSlope    = 3.8
)

func (o *KNNOptions) defaults(n int) {
	if o.K <= 0 {
		o.K = 15
	}
	if o.Threads <= 0 {
		o.Threads = par.Threads()
	}
	if o.ExactBelow == 0 {
		o.ExactBelow = 20000
	}
	if o.Trees <= 0 {
		o.Trees = 4
	}
	if o.LeafSize <= 0 {
		o.LeafSize = max(2*o.K, 32)
	}
	if o.SearchK <= 0 {
		o.SearchK = DefaultSearchK(n, o.K)
	}
	o.SearchK = max(o.SearchK, o.K)
	if o.MaxCandidates <= 0 {
		o.MaxCandidates = DefaultCandidates(n, o.SearchK)
	}
	if o.MaxIters <= 0 {
		o.MaxIters = max(12, int(math.Round(math.Log2(float64(max(n, 1))))))
	}
	if o.Delta <= 0 {
		o.Delta = 0.001
	}
}

func (o *KNNOptions) report(done float64) {
	if o.Progress != nil {
		o.Progress(min(1, max(0, done)))
	}
}

func checkData(x []float32, n, d, k int) error {
	if n < 2 || d < 1 || len(x) < n*d {
		return fmt.Errorf("%w: %d values for %d rows of %d", ErrBadInput, len(x), n, d)
	}
	if k < 1 || k >= n {
		return fmt.Errorf("%w: k = %d for %d rows (want 1 <= k < rows)", ErrBadInput, k, n)
	}
	return nil
}

// KNN builds the k-nearest-neighbour graph of the n rows of x (n x d,
// row-major) under the Euclidean distance (on L2-normalised rows, a
// function of the cosine): exactly when n <= opt.ExactBelow, else by
// NN-descent.
func KNN(ctx context.Context, x []float32, n, d int, opt KNNOptions) (*Graph, error) {
	opt.defaults(n)
	if err := checkData(x, n, d, opt.K); err != nil {
		return nil, fmt.Errorf("knn: %w", err)
	}
	if opt.ExactBelow > 0 && n <= opt.ExactBelow {
		return exactKNN(ctx, x, n, d, opt.K, nil, opt.Threads, opt.report)
	}
	return nnDescent(ctx, x, n, d, opt)
}

// ExactKNN finds the k nearest rows of x (n x d) to each of the rows
// queries (nil: every row), leaving each query's own row out, by matrix
// products (cluster.Gemm) on threads goroutines (0: par.Threads()). Row r
// of the graph answers queries[r].
func ExactKNN(ctx context.Context, x []float32, n, d, k int, queries []int32, threads int) (*Graph, error) {
	if err := checkData(x, n, d, k); err != nil {
		return nil, fmt.Errorf("exact knn: %w", err)
	}
	for _, q := range queries {
		if q < 0 || int(q) >= n {
			return nil, fmt.Errorf("exact knn: %w: query row %d outside [0,%d)", ErrBadInput, q, n)
		}
	}
	if threads <= 0 {
		threads = par.Threads()
	}
	return exactKNN(ctx, x, n, d, k, queries, threads, nil)
}

// Block sizes of the exact search: qBlock query rows against xBlock data
// rows per product, so the scores (qBlock x xBlock) stay in L2.
const (
	qBlock = 128
	xBlock = 2048
)

func exactKNN(ctx context.Context, x []float32, n, d, k int, queries []int32, threads int, report func(float64)) (*Graph, error) {
	nq := n
	if queries != nil {
		nq = len(queries)
	}
	g := &Graph{N: nq, K: k, Index: make([]int32, nq*k), Dist: make([]float32, nq*k)}
	norms := rowNorms(x, n, d)
	blocks := (nq + qBlock - 1) / qBlock
	var mu sync.Mutex
	done := 0
	err := par.Chunks(ctx, blocks, threads, func(_, b int) {
		var gm cluster.Gemm
		lo, hi := b*qBlock, min(nq, (b+1)*qBlock)
		rows := hi - lo
		q := make([]float32, rows*d)
		qi := make([]int32, rows)
		for r := range rows {
			i := int32(lo + r)
			if queries != nil {
				i = queries[lo+r]
			}
			qi[r] = i
			copy(q[r*d:(r+1)*d], x[int(i)*d:(int(i)+1)*d])
		}
		tops := make([]topK, rows)
		for r := range tops {
			tops[r] = newTopK(k)
		}
		scores := make([]float32, rows*xBlock)
		for xlo := 0; xlo < n; xlo += xBlock {
			cols := min(xBlock, n-xlo)
			gm.Sgemm(false, true, rows, cols, d, 1, q, d, x[xlo*d:], d, 0, scores, xBlock)
			for r := range rows {
				t := &tops[r]
				s := scores[r*xBlock : r*xBlock+cols]
				qn := norms[qi[r]]
				for c, dot := range s {
					j := int32(xlo + c)
					d2 := max(0, qn+norms[j]-2*dot)
					if d2 < t.worst() && j != qi[r] {
						t.add(j, d2)
					}
				}
			}
		}
		for r := range rows {
			t := &tops[r]
			base := (lo + r) * k
			for c := range k {
				g.Index[base+c], g.Dist[base+c] = t.idx[c], float32(math.Sqrt(float64(t.d2[c])))
			}
		}
		if report != nil {
			mu.Lock()
			done++
			report(float64(done) / float64(blocks))
			mu.Unlock()
		}
	})
	if err != nil {
		return nil, fmt.Errorf("exact knn: %w", err)
	}
	return g, nil
}

// topK keeps the k smallest (distance, index) pairs in increasing order.
type topK struct {
	idx []int32
	d2  []float32
}

func newTopK(k int) topK {
	t := topK{idx: make([]int32, k), d2: make([]float32, k)}
	for c := range k {
		t.idx[c], t.d2[c] = -1, float32(math.Inf(1))
	}
	return t
}

func (t *topK) worst() float32 { return t.d2[len(t.d2)-1] }

// add inserts (j, d2), which must be better than worst.
func (t *topK) add(j int32, d2 float32) {
	c := len(t.d2) - 1
	for c > 0 && (t.d2[c-1] > d2 || (t.d2[c-1] == d2 && t.idx[c-1] > j)) {
		t.d2[c], t.idx[c] = t.d2[c-1], t.idx[c-1]
		c--
	}
	t.d2[c], t.idx[c] = d2, j
}

func rowNorms(x []float32, n, d int) []float32 {
	norms := make([]float32, n)
	for i := range n {
		r := x[i*d : (i+1)*d]
		norms[i] = dot(r, r)
	}
	return norms
}

// dot is the inner product, unrolled so the four sums pipeline.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		s0 += a[i]*b[i] + a[i+4]*b[i+4]
		s1 += a[i+1]*b[i+1] + a[i+5]*b[i+5]
		s2 += a[i+2]*b[i+2] + a[i+6]*b[i+6]
		s3 += a[i+3]*b[i+3] + a[i+7]*b[i+7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Recall is the fraction of the exact neighbours that approx found, over
// the rows queries (exact's row r answers queries[r]; nil: every row), at
// exact's K.
func Recall(approx, exact *Graph, queries []int32) (float64, error) {
	if approx.K < exact.K {
		return 0, fmt.Errorf("recall: %w: approximate graph has k = %d, exact %d", ErrBadInput, approx.K, exact.K)
	}
	if queries == nil && approx.N != exact.N || queries != nil && len(queries) != exact.N {
		return 0, fmt.Errorf("recall: %w: %d exact rows for %d queries", ErrBadInput, exact.N, len(queries))
	}
	hit := 0
	for r := range exact.N {
		i := r
		if queries != nil {
			i = int(queries[r])
		}
		got, _ := approx.Row(i)
		got = got[:exact.K]
		want, _ := exact.Row(r)
		for _, w := range want {
			if slices.Contains(got, w) {
				hit++
			}
		}
	}
	return float64(hit) / float64(exact.N*exact.K), nil
}

// sortRows orders each row of g by distance (then index).
func sortRows(g *Graph) {
	type nb struct {
		i int32
		d float32
	}
	buf := make([]nb, g.K)
	for r := range g.N {
		idx, dist := g.Row(r)
		for c := range buf {
			buf[c] = nb{idx[c], dist[c]}
		}
		slices.SortFunc(buf, func(a, b nb) int {
			if c := cmp.Compare(a.d, b.d); c != 0 {
				return c
			}
			return cmp.Compare(a.i, b.i)
		})
		for c := range buf {
			idx[c], dist[c] = buf[c].i, buf[c].d
		}
	}
}

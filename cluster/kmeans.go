package cluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync/atomic"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/internal/par"
)

// Init is how k-means picks its first centroids.
type Init int

const (
	// InitRandom takes k distinct rows chosen uniformly (faiss's and
	// DeepCluster's choice: cheap, and enough with many clusters).
	InitRandom Init = iota
	// InitPlusPlus is k-means++ (D^2 sampling): better starts for small k.
	// It costs n*k*d scalar operations, as much arithmetic as a Lloyd
	// iteration but without the fast matrix product, so for thousands of
	// clusters over millions of rows prefer InitRandom.
	InitPlusPlus
)

// String names the initialisation for logs.
func (i Init) String() string {
	switch i {
	case InitRandom:
		return "random"
	case InitPlusPlus:
		return "k-means++"
	}
	return fmt.Sprintf("Init(%d)", int(i))
}

// DefaultIters is the number of Lloyd iterations when KMeansOptions.Iters
// is 0; DeepCluster's reference uses 20.
const DefaultIters = 20

// splitEps is the relative perturbation between the two halves of a split
// cluster (faiss uses the same 1/1024).
const splitEps = 1.0 / 1024

// KMeansOptions configures KMeans.
type KMeansOptions struct {
	// K is the number of clusters, in [1, n].
	K int
	// Iters is the most Lloyd iterations to run; 0 means DefaultIters.
	Iters int
	// Tol stops early once an iteration lowers the objective by less than
	// Tol times its value; 0 runs all Iters.
	Tol float64
	// Init picks the first centroids.
	Init Init
	// Seed makes the run reproducible: the same seed, data and options give
	// the same result, whatever Threads is.
	Seed uint64
	// Threads is the number of goroutines; 0 means GOMAXPROCS.
	Threads int
	// OnIter, when set, is called after each assignment step with the
	// iteration (0-based) and the objective, the sum of squared distances
	// of the points to their centroids.
	OnIter func(iter int, objective float64)
	// Engine, when set, runs the assignment and update steps (a GPU);
	// nil runs them on the CPU.
	Engine Engine
}

// KMeansResult is a finished clustering.
type KMeansResult struct {
	// Centroids is k x d, row-major: the means of the clusters' points.
	Centroids []float32
	// Assign[i] is the cluster of row i.
	Assign []int32
	// Sizes[c] is the number of rows in cluster c; never 0.
	Sizes []int
	// Objective is the sum of squared distances of the rows to their
	// centroids at the last assignment step.
	Objective float64
	// Iters is the number of iterations run.
	Iters int
	// Splits counts the empty clusters refilled by splitting another one.
	Splits int
}

// ErrBadInput is wrapped by the errors about invalid data or options.
var ErrBadInput = errors.New("bad clustering input")

// checkMatrix validates x as n x d finite floats.
func checkMatrix(x []float32, n, d int) error {
	if n <= 0 {
		return fmt.Errorf("%w: no rows (n = %d)", ErrBadInput, n)
	}
	if d <= 0 {
		return fmt.Errorf("%w: dimension d = %d", ErrBadInput, d)
	}
	if len(x) < n*d {
		return fmt.Errorf("%w: %d values for %d rows of %d", ErrBadInput, len(x), n, d)
	}
	for i := 0; i < n; i++ {
		var bad float32
		row := x[i*d : i*d+d]
		for _, v := range row {
			bad += v - v // 0 for finite values, NaN for NaN and +-Inf
		}
		if bad == 0 {
			continue
		}
		for j, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%w: row %d, column %d is %v", ErrBadInput, i, j, v)
			}
		}
	}
	return nil
}

// KMeans clusters the n rows of x (n x d, row-major) into opt.K clusters with
// Lloyd's algorithm. Distances are computed as |x|^2 - 2 x.c + |c|^2 by the
// package's matrix-product kernels, fused with the argmin, in blocks of rows
// so memory stays O(n + k*d) beyond the data. Clusters left empty by an
// assignment step are refilled by splitting a cluster chosen with
// probability proportional to its size minus one (docs/ARCHITECTURE.md, "The method"), so
// no cluster of the result is empty. Duplicate rows are fine.
func KMeans(ctx context.Context, x []float32, n, d int, opt KMeansOptions) (*KMeansResult, error) {
	return kmeans(ctx, kernels, x, n, d, opt, nil)
}

// kmeans is KMeans with a given kernel set and, when init is not nil, given
// first centroids (for tests against a reference).
func kmeans(ctx context.Context, kr *microKernels, x []float32, n, d int, opt KMeansOptions, init []float32) (*KMeansResult, error) {
	k := opt.K
	if k < 1 {
		return nil, fmt.Errorf("%w: k = %d, want at least 1", ErrBadInput, k)
	}
	if err := checkMatrix(x, n, d); err != nil {
		return nil, err
	}
	if k > n {
		return nil, fmt.Errorf("%w: k = %d clusters for %d rows", ErrBadInput, k, n)
	}
	iters := opt.Iters
	if iters <= 0 {
		iters = DefaultIters
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = par.Threads()
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x6b6d65616e73))
	cent := make([]float32, k*d)
	switch {
	case init != nil:
		copy(cent, init)
	case opt.Init == InitRandom:
		perm := rng.Perm(n)
		for c := 0; c < k; c++ {
			copy(cent[c*d:(c+1)*d], x[perm[c]*d:perm[c]*d+d])
		}
	case opt.Init == InitPlusPlus:
		if err := plusPlus(ctx, x, n, d, k, cent, rng, threads); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: unknown init %v", ErrBadInput, opt.Init)
	}
	res := &KMeansResult{Centroids: cent, Assign: make([]int32, n), Sizes: make([]int, k)}
	var assign func(ctx context.Context, cent []float32, out []int32) (float64, error)
	var update func(ctx context.Context, ms *members, labels []int32, cent []float32) error
	if opt.Engine != nil {
		ll, err := opt.Engine(x, n, d)
		if err != nil {
			return nil, fmt.Errorf("k-means engine: %w", err)
		}
		defer ll.Close()
		assign, update = engineSteps(ll, k)
	} else {
		assign, update = cpuSteps(kr, x, n, d, k, threads)
	}
	ms := newMembers(n, k)
	prev := math.Inf(1)
	for it := 0; it < iters; it++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		obj, err := assign(ctx, cent, res.Assign)
		if err != nil {
			return nil, err
		}
		res.Objective = obj
		res.Iters = it + 1
		if opt.OnIter != nil {
			opt.OnIter(it, obj)
		}
		ms.build(res.Assign)
		res.Splits += splitEmpty(ms, x, d, cent, res.Assign, rng)
		if err := update(ctx, ms, res.Assign, cent); err != nil {
			return nil, err
		}
		if opt.Tol > 0 && it > 0 && prev-obj <= opt.Tol*math.Abs(prev) {
			break
		}
		prev = obj
	}
	for c := 0; c < k; c++ {
		res.Sizes[c] = int(ms.start[c+1] - ms.start[c])
	}
	return res, nil
}

// cpuSteps are the assignment and update steps on this package's kernels.
func cpuSteps(kr *microKernels, x []float32, n, d, k, threads int) (
	assign func(ctx context.Context, cent []float32, out []int32) (float64, error),
	update func(ctx context.Context, ms *members, labels []int32, cent []float32) error) {
	xnorm := rowNorms(x, n, d)
	es := newEStep(kr, n, d, k, threads)
	assign = func(ctx context.Context, cent []float32, out []int32) (float64, error) {
		return es.assign(ctx, x, xnorm, cent, out)
	}
	update = func(ctx context.Context, ms *members, _ []int32, cent []float32) error {
		return ms.means(ctx, x, d, cent, threads)
	}
	return assign, update
}

// engineSteps are the assignment and update steps on an Engine's Lloyd.
func engineSteps(ll Lloyd, k int) (
	assign func(ctx context.Context, cent []float32, out []int32) (float64, error),
	update func(ctx context.Context, ms *members, labels []int32, cent []float32) error) {
	assign = func(_ context.Context, cent []float32, out []int32) (float64, error) {
		obj, err := ll.Assign(cent, k, out)
		if err != nil {
			return 0, fmt.Errorf("k-means engine: assign: %w", err)
		}
		return obj, nil
	}
	update = func(_ context.Context, _ *members, labels []int32, cent []float32) error {
		if _, err := ll.Update(labels, cent, k); err != nil {
			return fmt.Errorf("k-means engine: update: %w", err)
		}
		return nil
	}
	return assign, update
}

func rowNorms(x []float32, n, d int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = dot32(x[i*d:i*d+d], x[i*d:i*d+d])
	}
	return out
}

func dot32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func sqDist32(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1 float32
	i := 0
	for ; i+2 <= len(a); i += 2 {
		t0 := a[i] - b[i]
		t1 := a[i+1] - b[i+1]
		s0 += t0 * t0
		s1 += t1 * t1
	}
	for ; i < len(a); i++ {
		t := a[i] - b[i]
		s0 += t * t
	}
	return s0 + s1
}

// plusPlus is k-means++ seeding, parallel over rows for each new centre.
func plusPlus(ctx context.Context, x []float32, n, d, k int, cent []float32, rng *rand.Rand, threads int) error {
	dist := make([]float64, n)
	first := rng.IntN(n)
	copy(cent[:d], x[first*d:first*d+d])
	chunk := (n + threads - 1) / threads
	update := func(c []float32, init bool) {
		par.Workers(threads, func(w int) {
			for i := w * chunk; i < min(n, (w+1)*chunk); i++ {
				v := float64(sqDist32(x[i*d:i*d+d], c))
				if init || v < dist[i] {
					dist[i] = v
				}
			}
		})
	}
	update(cent[:d], true)
	for c := 1; c < k; c++ {
		if c%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var total float64
		for _, v := range dist {
			total += v
		}
		pick := -1
		if total > 0 {
			u := rng.Float64() * total
			for i, v := range dist {
				u -= v
				if u < 0 && v > 0 {
					pick = i
					break
				}
			}
			if pick < 0 { // rounding left u >= 0: take the last positive
				for i := n - 1; i >= 0; i-- {
					if dist[i] > 0 {
						pick = i
						break
					}
				}
			}
		}
		if pick < 0 { // all rows sit on centres (duplicates): any row
			pick = rng.IntN(n)
		}
		copy(cent[c*d:(c+1)*d], x[pick*d:pick*d+d])
		update(cent[c*d:(c+1)*d], false)
	}
	return nil
}

// eStep is the assignment step: nearest centroid of every row, via the fused
// product + argmin kernel. Its buffers are reused across iterations.
type eStep struct {
	kr       *microKernels
	n, d, k  int
	threads  int
	mb       int       // rows per work item, a multiple of nr
	packed   []float32 // centroids * -2, panels of mr, d x mr each
	cn       []float32 // |c|^2 per lane, +Inf for padding
	blockObj []float64
	scr      []eScratch
}

type eScratch struct {
	minv []float32
	idxv []int32
	qpad []float32
}

func newEStep(kr *microKernels, n, d, k, threads int) *eStep {
	mr, nr := kr.mr, kr.nr
	panels := (k + mr - 1) / mr
	// Keep a work item's rows within ~192 KiB so they stay in L2 while
	// every centroid panel streams past them.
	mb := max(1, min(24, (192<<10)/(4*d*nr))) * nr
	blocks := (n + mb - 1) / mb
	threads = max(1, min(threads, blocks))
	e := &eStep{kr: kr, n: n, d: d, k: k, threads: threads, mb: mb,
		packed: make([]float32, panels*d*mr), cn: make([]float32, panels*mr),
		blockObj: make([]float64, blocks), scr: make([]eScratch, threads)}
	for t := range e.scr {
		e.scr[t] = eScratch{minv: make([]float32, mb*mr), idxv: make([]int32, mb*mr), qpad: make([]float32, nr*d)}
	}
	return e
}

// pack lays out the centroids for the kernel: -2*c, so that the kernel's
// sum plus |c|^2 is |x - c|^2 - |x|^2.
func (e *eStep) pack(cent []float32) {
	mr, d := e.kr.mr, e.d
	for c := range e.cn {
		e.cn[c] = posInf
	}
	clear(e.packed)
	for c := 0; c < e.k; c++ {
		t, r := c/mr, c%mr
		pp := e.packed[t*d*mr:]
		row := cent[c*d : c*d+d]
		for p, v := range row {
			pp[p*mr+r] = -2 * v
		}
		e.cn[c] = dot32(row, row)
	}
}

// assign writes the nearest centroid of every row into out and returns the
// objective.
func (e *eStep) assign(ctx context.Context, x, xnorm, cent []float32, out []int32) (float64, error) {
	e.pack(cent)
	mr, nr, d := e.kr.mr, e.kr.nr, e.d
	panels := (e.k + mr - 1) / mr
	var next atomic.Int64
	var stop atomic.Bool
	par.Workers(e.threads, func(w int) {
		s := e.scr[w]
		for {
			blk := int(next.Add(1)) - 1
			if blk >= len(e.blockObj) || stop.Load() {
				return
			}
			if ctx.Err() != nil {
				stop.Store(true)
				return
			}
			i0 := blk * e.mb
			i1 := min(e.n, i0+e.mb)
			for i := range s.minv {
				s.minv[i] = posInf
			}
			clear(s.idxv)
			for t := 0; t < panels; t++ {
				pp := e.packed[t*d*mr : (t+1)*d*mr]
				cn := e.cn[t*mr : (t+1)*mr]
				for i := i0; i < i1; i += nr {
					rows := min(nr, i1-i)
					q := x[i*d:]
					if rows < nr {
						packQ(s.qpad, false, x, d, i, rows, 0, d, nr)
						q = s.qpad
					}
					o := (i - i0) * mr
					e.kr.argmin(d, pp, q, d, 1, cn, s.minv[o:o+nr*mr], s.idxv[o:o+nr*mr], int32(t*mr))
				}
			}
			var obj float64
			for i := i0; i < i1; i++ {
				o := (i - i0) * mr
				best, bi := s.minv[o], s.idxv[o]
				for r := 1; r < mr; r++ {
					v, id := s.minv[o+r], s.idxv[o+r]
					if v < best || (v == best && id < bi) {
						best, bi = v, id
					}
				}
				out[i] = bi
				obj += math.Max(0, float64(xnorm[i])+float64(best))
			}
			e.blockObj[blk] = obj
		}
	})
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var obj float64
	for _, v := range e.blockObj {
		obj += v
	}
	return obj, nil
}

// members groups the rows by cluster: rows of cluster c are
// order[start[c]:start[c+1]], in increasing row order.
type members struct {
	order []int32
	start []int32
}

func newMembers(n, k int) *members {
	return &members{order: make([]int32, n), start: make([]int32, k+1)}
}

func (m *members) build(assign []int32) {
	m.start, m.order = deepercluster.GroupByLabel(assign, len(m.start)-1, m.start, m.order)
}

// means sets every centroid to the mean of its rows, summing in float64 in
// row order so the result does not depend on the thread count.
func (m *members) means(ctx context.Context, x []float32, d int, cent []float32, threads int) error {
	k := len(m.start) - 1
	var next atomic.Int64
	const chunk = 16
	par.Workers(threads, func(w int) {
		sum := make([]float64, d)
		for {
			c0 := int(next.Add(chunk)) - chunk
			if c0 >= k || ctx.Err() != nil {
				return
			}
			for c := c0; c < min(k, c0+chunk); c++ {
				rows := m.order[m.start[c]:m.start[c+1]]
				if len(rows) == 0 {
					continue // keeps its centroid; splitEmpty prevents this
				}
				sumRows(sum, x, d, rows)
				inv := 1 / float64(len(rows))
				for j := range sum {
					cent[c*d+j] = float32(sum[j] * inv)
				}
			}
		}
	})
	return ctx.Err()
}

// pickDonor draws the cluster an empty one is split from, with probability
// proportional to its size minus one; total is the sum of (size-1) over the
// non-empty clusters and must be positive.
func pickDonor(rng *rand.Rand, total, k int, size func(c int) int) int {
	u := rng.IntN(total)
	for c := 0; c < k; c++ {
		if s := size(c); s > 1 {
			if u < s-1 {
				return c
			}
			u -= s - 1
		}
	}
	return -1
}

// splitCentroid gives the empty cluster e the donor's centroid scaled by
// (1+splitEps) on even and (1-splitEps) on odd dimensions, and the donor
// the opposite, so the next assignment divides the donor's rows.
func splitCentroid(cent []float32, d, donor, e int) {
	cd, ce := cent[donor*d:donor*d+d], cent[e*d:e*d+d]
	for j := range cd {
		v := cd[j]
		if j%2 == 0 {
			ce[j], cd[j] = v*(1+splitEps), v*(1-splitEps)
		} else {
			ce[j], cd[j] = v*(1-splitEps), v*(1+splitEps)
		}
	}
}

// splitEmpty refills every empty cluster: it picks a donor with probability
// proportional to size-1, gives the empty cluster the donor's centroid
// scaled by (1+eps) on even and (1-eps) on odd dimensions (the donor gets
// the opposite), and moves the donor's rows that are nearer the new
// centroid; if none or all move, it moves half of them. It returns the
// number of clusters refilled; members and assign are updated.
func splitEmpty(m *members, x []float32, d int, cent []float32, assign []int32, rng *rand.Rand) int {
	k := len(m.start) - 1
	size := func(c int) int { return int(m.start[c+1] - m.start[c]) }
	var empties []int
	total := 0
	for c := 0; c < k; c++ {
		if s := size(c); s == 0 {
			empties = append(empties, c)
		} else {
			total += s - 1
		}
	}
	if len(empties) == 0 {
		return 0
	}
	// Members of a cluster become a list of segments of order: a split
	// cluster's rows are a sub-range of its donor's range.
	lo := make([]int32, k)
	hi := make([]int32, k)
	for c := 0; c < k; c++ {
		lo[c], hi[c] = m.start[c], m.start[c+1]
	}
	for _, e := range empties {
		if total <= 0 {
			break // cannot happen when k <= n
		}
		donor := pickDonor(rng, total, k, func(c int) int { return int(hi[c] - lo[c]) })
		splitCentroid(cent, d, donor, e)
		cd, ce := cent[donor*d:donor*d+d], cent[e*d:e*d+d]
		seg := m.order[lo[donor]:hi[donor]]
		// Partition: rows staying with the donor first.
		keep := 0
		for idx, i := range seg {
			row := x[int(i)*d : int(i)*d+d]
			if sqDist32(row, cd) <= sqDist32(row, ce) {
				seg[keep], seg[idx] = seg[idx], seg[keep]
				keep++
			}
		}
		if keep == 0 || keep == len(seg) {
			keep = len(seg) / 2
		}
		// Keep each part in row order for deterministic means.
		slices.Sort(seg[:keep])
		slices.Sort(seg[keep:])
		lo[e], hi[e] = lo[donor]+int32(keep), hi[donor]
		hi[donor] = lo[donor] + int32(keep)
		for _, i := range seg[keep:] {
			assign[i] = int32(e)
		}
		total-- // donor lost s-1 -> (keep-1) + (len-keep-1): one less overall
	}
	// Rebuild the grouping from the new assignment.
	m.build(assign)
	return len(empties)
}

// sumRowsGeneric is the portable sumRows.
func sumRowsGeneric(sum []float64, x []float32, d int, rows []int32) {
	sumRowsTail(sum, x, d, rows, 0)
}

// sumRowsTail sets sum[j] for j in [from, d).
func sumRowsTail(sum []float64, x []float32, d int, rows []int32, from int) {
	s := sum[from:d]
	clear(s)
	for _, i := range rows {
		for j, v := range x[int(i)*d+from : int(i)*d+d] {
			s[j] += float64(v)
		}
	}
}

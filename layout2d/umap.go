package layout2d

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/deepercluster/deepercluster/cluster"
	"github.com/deepercluster/deepercluster/internal/par"
)

// EmbedOptions configure Embed. The zero value is usable.
type EmbedOptions struct {
	// Epochs of gradient descent (default: 500 up to 10,000 points, 200 up
	// to 100,000, then fewer as N grows, down to 60 at 1,000,000 and
	// beyond: each epoch costs O(N)).
	Epochs int
	// Threads is the number of goroutines (default par.Threads()).
	Threads int
	// Seed makes the result reproducible.
	Seed uint64
	// NegativeRate is the number of negative samples per positive one
	// (default 5); Repulsion weighs them (default 1).
	NegativeRate int
	Repulsion    float64
	// LearningRate is the first epoch's step, falling linearly to zero
	// (default 1).
	LearningRate float64
	// A and B shape the low-dimensional similarity 1/(1 + A*d^(2B))
	// (default A = 1.577, B = 1: UMAP's curve for min_dist 0.1 has B =
	// 0.895; with B = 1 no power is computed per sample, which makes an
	// epoch about three times cheaper).
	A, B float64
	// Progress, when set, is called with the fraction done in [0,1].
	Progress func(done float64)
	// SnapshotAt lists epochs (1 to Epochs) after which Snapshot is called
	// with copies of the positions, which it may keep.
	SnapshotAt []int
	Snapshot   func(epoch int, x, y []float32)
	// InitX and InitY, when set (n values each), are the starting
	// positions instead of the PCA of the rows: an earlier layout of the
	// same points, from features that have moved a little since (the
	// server's map of the previous version). They are scaled as the PCA
	// start is (the largest coordinate 10). Started there, a fraction of
	// the epochs gives a layout as faithful as a cold start's (WarmEpochs),
	// and the map keeps its shape from one version to the next.
	InitX, InitY []float32
}

// WarmEpochs is the number of epochs for n points started from an earlier
// layout (EmbedOptions.InitX): a quarter of DefaultEpochs, at least 30
// (TestWarmStartKeepsTrustworthiness).
func WarmEpochs(n int) int { return max(30, DefaultEpochs(n)/4) }

// DefaultEpochs is the number of epochs Embed runs for n points when
// EmbedOptions.Epochs is 0.
func DefaultEpochs(n int) int {
	switch {
	case n <= 10000:
		return 500
	case n <= 100000:
		return 200
	default:
		return max(60, int(200*math.Sqrt(100000/float64(n))))
	}
}

func (o *EmbedOptions) defaults(n int) {
	if o.Epochs <= 0 {
		o.Epochs = DefaultEpochs(n)
	}
	if o.Threads <= 0 {
		o.Threads = par.Threads()
	}
	if o.NegativeRate <= 0 {
		o.NegativeRate = 5
	}
	if o.Repulsion <= 0 {
		o.Repulsion = 1
	}
	if o.LearningRate <= 0 {
		o.LearningRate = 1
	}
	if o.A <= 0 {
		o.A = 1.577
	}
	if o.B <= 0 {
		o.B = 1
	}
}

// edges is the symmetric fuzzy graph by head: the edges of row i are
// to[start[i]:start[i+1]], with their epochs per sample.
type edges struct {
	start []int
	to    []int32
	eps   []float32 // epochs per sample: max weight / weight
}

// fuzzyGraph turns the kNN graph into UMAP's fuzzy simplicial set: the
// membership of j in i's neighbourhood is exp(-(d_ij - rho_i)/sigma_i),
// rho_i the distance to i's nearest neighbour and sigma_i set so that the
// memberships of i sum to log2(K+1); the union of both directions is
// w_ij + w_ji - w_ij*w_ji. Edges lighter than maxWeight/epochs would never
// be sampled and are left out.
func fuzzyGraph(ctx context.Context, g *Graph, epochs, threads int) (*edges, error) {
	n, k := g.N, g.K
	w := make([]float32, n*k)
	target := math.Log2(float64(k + 1))
	const rowsPerChunk = 4096
	err := par.Chunks(ctx, (n+rowsPerChunk-1)/rowsPerChunk, threads, func(_, ch int) {
		for i := ch * rowsPerChunk; i < min(n, (ch+1)*rowsPerChunk); i++ {
			memberships(g, i, target, w[i*k:(i+1)*k])
		}
	})
	if err != nil {
		return nil, err
	}
	return symmetric(g, w, epochs), nil
}

// memberships sets w to the memberships of row i's neighbours.
func memberships(g *Graph, i int, target float64, w []float32) {
	idx, dist := g.Row(i)
	rho := 0.0
	for c, v := range dist {
		if v > 0 && idx[c] >= 0 {
			rho = float64(v)
			break
		}
	}
	lo, hi, sigma := 0.0, math.Inf(1), 1.0
	for range 64 {
		s := 0.0
		for c, v := range dist {
			if idx[c] >= 0 {
				s += math.Exp(-max(0, float64(v)-rho) / sigma)
			}
		}
		if math.Abs(s-target) < 1e-5 {
			break
		}
		if s > target {
			hi = sigma
			sigma = (lo + hi) / 2
		} else {
			lo = sigma
			if math.IsInf(hi, 1) {
				sigma *= 2
			} else {
				sigma = (lo + hi) / 2
			}
		}
	}
	for c, v := range dist {
		if idx[c] >= 0 {
			w[c] = float32(math.Exp(-max(0, float64(v)-rho) / sigma))
		}
	}
}

// symmetric is the union of both directions of the memberships w, by
// head, without the edges lighter than maxWeight/epochs.
func symmetric(g *Graph, w []float32, epochs int) *edges {
	n, k := g.N, g.K
	// pos(j, i) is where i sits in j's row, -1 when it does not.
	pos := func(j, i int32) int {
		row := g.Index[int(j)*k : int(j+1)*k]
		for c, v := range row {
			if v == i {
				return c
			}
		}
		return -1
	}
	count := make([]int, n+1)
	for i := range n {
		for c := range k {
			j := g.Index[i*k+c]
			if j < 0 {
				continue
			}
			count[i]++
			if pos(j, int32(i)) < 0 {
				count[j]++ // the reverse edge exists only from j's side
			}
		}
	}
	e := &edges{start: make([]int, n+1)}
	for i := range n {
		e.start[i+1] = e.start[i] + count[i]
	}
	m := e.start[n]
	e.to = make([]int32, m)
	wt := make([]float32, m)
	fill := append([]int(nil), e.start[:n]...)
	for i := range n {
		for c := range k {
			j := g.Index[i*k+c]
			if j < 0 {
				continue
			}
			a := w[i*k+c]
			if p := pos(j, int32(i)); p >= 0 {
				b := w[int(j)*k+p]
				e.to[fill[i]], wt[fill[i]] = j, a+b-a*b
				fill[i]++
			} else {
				e.to[fill[i]], wt[fill[i]] = j, a
				fill[i]++
				e.to[fill[j]], wt[fill[j]] = int32(i), a
				fill[j]++
			}
		}
	}
	var maxW float32
	for _, v := range wt {
		maxW = max(maxW, v)
	}
	// Prune the edges too light to be sampled, compacting in place.
	e.eps = make([]float32, m)
	out := 0
	for i := range n {
		lo, hi := e.start[i], e.start[i+1]
		e.start[i] = out
		for c := lo; c < hi; c++ {
			if wt[c] <= 0 || wt[c] < maxW/float32(epochs) {
				continue
			}
			e.to[out], e.eps[out] = e.to[c], maxW/wt[c]
			out++
		}
	}
	e.start[n] = out
	e.to, e.eps = e.to[:out], e.eps[:out]
	return e
}

// pcaInit places the rows at their first two principal components, scaled
// so the largest coordinate is 10, plus a little noise to part duplicates.
func pcaInit(ctx context.Context, x []float32, n, d int, seed uint64) ([]float32, error) {
	pos := make([]float32, 2*n)
	rng := rand.New(rand.NewPCG(seed, 0x696e6974))
	if x == nil || d < 2 {
		for i := range pos {
			pos[i] = float32(rng.Float64()*20 - 10)
		}
		return pos, nil
	}
	p, err := cluster.FitPCA(ctx, x, n, d, 2, cluster.PCAOptions{SampleSize: 20000, Seed: seed})
	if err != nil {
		return nil, fmt.Errorf("pca init: %w", err)
	}
	var big float32
	for i := range n {
		row := x[i*d : (i+1)*d]
		for c := range 2 {
			var s float32
			for t, v := range row {
				s += (v - p.Mean[t]) * p.W[t*2+c]
			}
			s *= float32(math.Sqrt(p.Eigenvalues[c]))
			pos[2*i+c] = s
			big = max(big, float32(math.Abs(float64(s))))
		}
	}
	scale := float32(10)
	if big > 0 {
		scale = 10 / big
	}
	for i := range pos {
		pos[i] = pos[i]*scale + float32(rng.NormFloat64()*1e-4)
	}
	return pos, nil
}

// scaledInit interleaves given positions into Embed's (x, y) pairs,
// centred and scaled as pcaInit's are: the largest coordinate 10.
func scaledInit(xs, ys []float32) []float32 {
	n := len(xs)
	var mx, my float64
	for i := range n {
		mx += float64(xs[i])
		my += float64(ys[i])
	}
	mx, my = mx/float64(n), my/float64(n)
	var big float64
	for i := range n {
		big = max(big, math.Abs(float64(xs[i])-mx), math.Abs(float64(ys[i])-my))
	}
	scale := 1.0
	if big > 0 {
		scale = 10 / big
	}
	pos := make([]float32, 2*n)
	for i := range n {
		pos[2*i] = float32((float64(xs[i]) - mx) * scale)
		pos[2*i+1] = float32((float64(ys[i]) - my) * scale)
	}
	return pos
}

// embedChunk is the number of heads one work item of an epoch moves.
const embedChunk = 1024

// Embed lays the graph out in two dimensions (UMAP's optimisation). x (n x
// d, the rows the graph was built from) gives the initial positions by PCA;
// nil starts from random ones. Each epoch moves every head point along its
// sampled edges and away from negative samples; the other end of an edge
// is read as it was at the start of the epoch, so the goroutines never
// write the same point and the result depends only on the seed.
func Embed(ctx context.Context, g *Graph, x []float32, d int, opt EmbedOptions) (xs, ys []float32, err error) {
	n := g.N
	if n < 2 || len(g.Index) != n*g.K || len(g.Dist) != n*g.K {
		return nil, nil, fmt.Errorf("embed: %w: graph of %d rows, %d entries for k = %d", ErrBadInput, n, len(g.Index), g.K)
	}
	if x != nil && len(x) < n*d {
		return nil, nil, fmt.Errorf("embed: %w: %d values for %d rows of %d", ErrBadInput, len(x), n, d)
	}
	if (opt.InitX != nil || opt.InitY != nil) && (len(opt.InitX) != n || len(opt.InitY) != n) {
		return nil, nil, fmt.Errorf("embed: %w: initial positions of %d and %d points for a graph of %d", ErrBadInput, len(opt.InitX), len(opt.InitY), n)
	}
	opt.defaults(n)
	e, err := fuzzyGraph(ctx, g, opt.Epochs, opt.Threads)
	if err != nil {
		return nil, nil, fmt.Errorf("embed: fuzzy graph: %w", err)
	}
	var cur []float32
	if opt.InitX != nil {
		cur = scaledInit(opt.InitX, opt.InitY)
	} else if cur, err = pcaInit(ctx, x, n, d, opt.Seed); err != nil {
		return nil, nil, fmt.Errorf("embed: %w", err)
	}
	old := append([]float32(nil), cur...)
	m := len(e.to)
	nextPos := make([]float32, m)
	nextNeg := make([]float32, m)
	epsNeg := make([]float32, m)
	for c := range m {
		nextPos[c] = e.eps[c]
		epsNeg[c] = e.eps[c] / float32(opt.NegativeRate)
		nextNeg[c] = epsNeg[c]
	}
	a, b := float32(opt.A), float32(opt.B)
	gamma := float32(opt.Repulsion)
	powB := func(v float32) float32 { // v^B
		if b == 1 {
			return v
		}
		return float32(math.Pow(float64(v), float64(b)))
	}
	clip := func(v float32) float32 { return max(-4, min(4, v)) }
	chunks := (n + embedChunk - 1) / embedChunk
	snap := map[int]bool{}
	for _, s := range opt.SnapshotAt {
		snap[s] = true
	}
	for epoch := range opt.Epochs {
		alpha := float32(opt.LearningRate * (1 - float64(epoch)/float64(opt.Epochs)))
		ep := float32(epoch)
		salt := mix(opt.Seed ^ uint64(epoch+1)*0xd1b54a32d192ed03)
		err := par.Chunks(ctx, chunks, opt.Threads, func(_, c int) {
			for i := c * embedChunk; i < min(n, (c+1)*embedChunk); i++ {
				px, py := cur[2*i], cur[2*i+1]
				for s := e.start[i]; s < e.start[i+1]; s++ {
					if nextPos[s] > ep {
						continue
					}
					j := e.to[s]
					dx, dy := px-old[2*j], py-old[2*j+1]
					d2 := dx*dx + dy*dy
					if d2 > 0 {
						pb := powB(d2)
						coef := -2 * a * b * pb / d2 / (a*pb + 1)
						px += clip(coef*dx) * alpha
						py += clip(coef*dy) * alpha
					}
					nextPos[s] += e.eps[s]
					nneg := int((ep - nextNeg[s]) / epsNeg[s])
					for t := range nneg {
						r := mix(salt ^ uint64(s)<<8 ^ uint64(t))
						q := int(r % uint64(n))
						if q == i {
							continue
						}
						dx, dy := px-old[2*q], py-old[2*q+1]
						d2 := dx*dx + dy*dy
						if d2 > 0 {
							coef := 2 * gamma * b / ((0.001 + d2) * (a*powB(d2) + 1))
							px += clip(coef*dx) * alpha
							py += clip(coef*dy) * alpha
						} else {
							px += 4 * alpha
							py += 4 * alpha
						}
					}
					nextNeg[s] += float32(nneg) * epsNeg[s]
				}
				cur[2*i], cur[2*i+1] = px, py
			}
		})
		if err != nil {
			return nil, nil, fmt.Errorf("embed: epoch %d: %w", epoch, err)
		}
		copy(old, cur)
		if opt.Progress != nil {
			opt.Progress(float64(epoch+1) / float64(opt.Epochs))
		}
		if opt.Snapshot != nil && snap[epoch+1] {
			sx, sy := split(cur)
			opt.Snapshot(epoch+1, sx, sy)
		}
	}
	xs, ys = split(cur)
	return xs, ys, nil
}

func split(pos []float32) (xs, ys []float32) {
	n := len(pos) / 2
	xs, ys = make([]float32, n), make([]float32, n)
	for i := range n {
		xs[i], ys[i] = pos[2*i], pos[2*i+1]
	}
	return xs, ys
}

package layout2d

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/deepercluster/deepercluster/cluster"
	"github.com/deepercluster/deepercluster/internal/par"
)

// heaps are the K-nearest lists of NN-descent: per row a max-heap on the
// squared distance (the worst at position 0), and whether each entry is
// new (not yet joined).
type heaps struct {
	k     int
	idx   []int32
	d2    []float32
	isNew []bool
}

func newHeaps(n, k int) *heaps {
	h := &heaps{k: k, idx: make([]int32, n*k), d2: make([]float32, n*k), isNew: make([]bool, n*k)}
	for i := range h.idx {
		h.idx[i], h.d2[i] = -1, float32(math.Inf(1))
	}
	return h
}

func (h *heaps) worst(i int32) float32 { return h.d2[int(i)*h.k] }

// push offers j at squared distance d2 to row i's list; it says whether the
// list changed.
func (h *heaps) push(i, j int32, d2 float32) bool {
	base := int(i) * h.k
	if d2 >= h.d2[base] || i == j {
		return false
	}
	ix := h.idx[base : base+h.k]
	if slices.Contains(ix, j) {
		return false
	}
	dd, nw := h.d2[base:base+h.k], h.isNew[base:base+h.k]
	// Replace the root and sift down.
	p := 0
	for {
		c := 2*p + 1
		if c >= h.k {
			break
		}
		if c+1 < h.k && dd[c+1] > dd[c] {
			c++
		}
		if dd[c] <= d2 {
			break
		}
		ix[p], dd[p], nw[p] = ix[c], dd[c], nw[c]
		p = c
	}
	ix[p], dd[p], nw[p] = j, d2, true
	return true
}

// mix is a 64-bit hash (splitmix64's finaliser): the random numbers that
// must not depend on the order of work come from it.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// rpLeaves splits the rows into the leaves of one random-projection tree:
// each node is cut by the hyperplane halfway between two of its rows, until
// a node has at most leafSize rows.
func rpLeaves(x []float32, n, d, leafSize int, rng *rand.Rand) [][]int32 {
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	var leaves [][]int32
	stack := [][]int32{perm}
	normal := make([]float32, d)
	side := make([]bool, 0, n)
	for len(stack) > 0 {
		node := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if len(node) <= leafSize {
			leaves = append(leaves, node)
			continue
		}
		a := node[rng.IntN(len(node))]
		b := node[rng.IntN(len(node))]
		ra, rb := x[int(a)*d:int(a+1)*d], x[int(b)*d:int(b+1)*d]
		var off float32
		for t := range d {
			normal[t] = ra[t] - rb[t]
			off += normal[t] * (ra[t] + rb[t]) / 2
		}
		side = side[:len(node)]
		left := 0
		for c, i := range node {
			m := dot(x[int(i)*d:int(i+1)*d], normal) - off
			side[c] = m > 0 || (m == 0 && rng.IntN(2) == 0)
			if side[c] {
				left++
			}
		}
		if left == 0 || left == len(node) {
			// Duplicates or a degenerate cut: split at random.
			for c := range node {
				side[c] = c < len(node)/2
			}
			rng.Shuffle(len(node), func(p, q int) { node[p], node[q] = node[q], node[p] })
			left = len(node) / 2
		} else {
			// Partition in place: the rows of side true first.
			p := 0
			for c := range node {
				if side[c] {
					node[p], node[c] = node[c], node[p]
					side[p], side[c] = side[c], side[p]
					p++
				}
			}
		}
		stack = append(stack, node[left:], node[:left])
	}
	return leaves
}

// update is a pair whose distance NN-descent computed and which may improve
// the lists of either row.
type update struct {
	a, b int32
	d2   float32
}

// joinChunk is the number of rows whose candidates one work item joins.
const joinChunk = 256

func nnDescent(ctx context.Context, x []float32, n, d int, opt KNNOptions) (*Graph, error) {
	// NN-descent keeps SearchK neighbours a row while it searches and
	// returns the K nearest of them.
	k := min(max(opt.K, opt.SearchK), n-1)
	norms := rowNorms(x, n, d)
	dist := func(a, b int32) float32 {
		return max(0, norms[a]+norms[b]-2*dot(x[int(a)*d:int(a+1)*d], x[int(b)*d:int(b+1)*d]))
	}
	h := newHeaps(n, k)
	rng := rand.New(rand.NewPCG(opt.Seed, 0x6e6e64))
	// Start from the leaves of random-projection trees: rows in one leaf
	// are close, and each tree's leaves are disjoint, so they are joined
	// in parallel without two goroutines touching one list.
	totalSteps := float64(opt.Trees + opt.MaxIters)
	// The trees are cut in parallel, each with its own random numbers.
	forest := make([][][]int32, opt.Trees)
	seeds := make([]uint64, opt.Trees)
	for t := range seeds {
		seeds[t] = rng.Uint64()
	}
	if err := par.Chunks(ctx, opt.Trees, opt.Threads, func(_, t int) {
		forest[t] = rpLeaves(x, n, d, opt.LeafSize, rand.New(rand.NewPCG(seeds[t], uint64(t))))
	}); err != nil {
		return nil, fmt.Errorf("knn: %w", err)
	}
	for t, leaves := range forest {
		err := par.Chunks(ctx, len(leaves), opt.Threads, func(_, c int) {
			leaf := leaves[c]
			for p, a := range leaf {
				for _, b := range leaf[p+1:] {
					d2 := dist(a, b)
					h.push(a, b, d2)
					h.push(b, a, d2)
				}
			}
		})
		if err != nil {
			return nil, fmt.Errorf("knn: %w", err)
		}
		opt.report(float64(t+1) / totalSteps)
	}
	// Rows whose lists are not full yet get random rows.
	for i := range int32(n) {
		for c := 0; h.idx[int(i)*k] == -1 && c < 8*k; c++ {
			j := int32(rng.IntN(n))
			h.push(i, j, dist(i, j))
		}
	}

	maxCand := opt.MaxCandidates
	newC := make([]int32, n*maxCand)
	oldC := make([]int32, n*maxCand)
	// Priorities are 32 bits: the candidate lists cost 16 bytes a slot
	// (about 770 MB at 1,000,000 rows, with 48 candidates).
	newP := make([]uint32, n*maxCand)
	oldP := make([]uint32, n*maxCand)
	newN := make([]int32, n)
	oldN := make([]int32, n)
	// addCand keeps, per row, the maxCand candidates of smallest priority.
	addCand := func(c []int32, p []uint32, cnt []int32, i, j int32, pr uint32) {
		base := int(i) * maxCand
		m := int(cnt[i])
		if slices.Contains(c[base:base+m], j) {
			return
		}
		if m < maxCand {
			c[base+m], p[base+m] = j, pr
			cnt[i]++
			return
		}
		w := 0
		for s := 1; s < maxCand; s++ {
			if p[base+s] > p[base+w] {
				w = s
			}
		}
		if pr < p[base+w] {
			c[base+w], p[base+w] = j, pr
		}
	}
	bufs := make([][]update, 0)
	// Per-goroutine scratch of the join: the candidates' rows and their
	// dot products.
	type joinScratch struct {
		gm         cluster.Gemm
		rows, dots []float32
	}
	joins := make([]joinScratch, opt.Threads)
	for w := range joins {
		joins[w].rows = make([]float32, 2*maxCand*d)
		joins[w].dots = make([]float32, 2*maxCand*maxCand)
	}
	for it := range opt.MaxIters {
		clear(newN)
		clear(oldN)
		salt := mix(opt.Seed ^ uint64(it+1)*0x9e3779b97f4a7c15)
		// Goroutine t fills the candidate lists of the rows i with
		// i % T == t, scanning every list in order: the same result
		// whatever T.
		T := int32(opt.Threads)
		if err := par.Chunks(ctx, int(T), int(T), func(_, tt int) {
			t := int32(tt)
			for i := range int32(n) {
				base := int(i) * k
				for c := range k {
					j := h.idx[base+c]
					if j < 0 || (i%T != t && j%T != t) {
						continue
					}
					pr := uint32(mix(salt^uint64(i)<<32^uint64(j)) >> 32)
					if h.isNew[base+c] {
						if i%T == t {
							addCand(newC, newP, newN, i, j, pr)
						}
						if j%T == t {
							addCand(newC, newP, newN, j, i, pr)
						}
					} else {
						if i%T == t {
							addCand(oldC, oldP, oldN, i, j, pr)
						}
						if j%T == t {
							addCand(oldC, oldP, oldN, j, i, pr)
						}
					}
				}
			}
		}); err != nil {
			return nil, fmt.Errorf("knn: %w", err)
		}
		// The new entries that became candidates are joined now.
		for i := range n {
			base := i * k
			cs := newC[i*maxCand : i*maxCand+int(newN[i])]
			for c := range k {
				if h.isNew[base+c] && slices.Contains(cs, h.idx[base+c]) {
					h.isNew[base+c] = false
				}
			}
		}
		changed := 0
		chunks := (n + joinChunk - 1) / joinChunk
		// Join in blocks of chunks, applying each block's updates before
		// the next, so memory stays bounded and later rows see better
		// lists.
		const block = 64
		for blo := 0; blo < chunks; blo += block {
			bhi := min(chunks, blo+block)
			for len(bufs) < bhi-blo {
				bufs = append(bufs, nil)
			}
			err := par.Chunks(ctx, bhi-blo, opt.Threads, func(w, c int) {
				buf := bufs[c][:0]
				js := &joins[w]
				lo, hi := (blo+c)*joinChunk, min(n, (blo+c+1)*joinChunk)
				for i := lo; i < hi; i++ {
					nc := newC[i*maxCand : i*maxCand+int(newN[i])]
					oc := oldC[i*maxCand : i*maxCand+int(oldN[i])]
					if len(nc) == 0 {
						continue
					}
					// The dot products of the new candidates with all
					// of them (new, then old) in one matrix product
					// (cluster.Gemm's vector kernels), not pair by pair.
					all := len(nc) + len(oc)
					rows := js.rows[:all*d]
					for r, a := range nc {
						copy(rows[r*d:(r+1)*d], x[int(a)*d:int(a+1)*d])
					}
					for r, b := range oc {
						copy(rows[(len(nc)+r)*d:(len(nc)+r+1)*d], x[int(b)*d:int(b+1)*d])
					}
					dots := js.dots[:len(nc)*all]
					js.gm.Sgemm(false, true, len(nc), all, d, 1, rows, d, rows, d, 0, dots, all)
					for p, a := range nc {
						row := dots[p*all : (p+1)*all]
						wa, na := h.worst(a), norms[a]
						for q := p + 1; q < all; q++ {
							var b int32
							if q < len(nc) {
								b = nc[q]
							} else if b = oc[q-len(nc)]; a == b {
								continue
							}
							d2 := max(0, na+norms[b]-2*row[q])
							if d2 < wa || d2 < h.worst(b) {
								buf = append(buf, update{a, b, d2})
							}
						}
					}
				}
				bufs[c] = buf
			})
			if err != nil {
				return nil, fmt.Errorf("knn: %w", err)
			}
			// Apply: goroutine t owns the rows i with i % T == t, and
			// reads the buffers in order, so the result does not depend
			// on the number of goroutines.
			T := opt.Threads
			counts := make([]int, T)
			err = par.Chunks(ctx, T, T, func(_, t int) {
				for _, buf := range bufs[:bhi-blo] {
					for _, u := range buf {
						if int(u.a)%T == t && h.push(u.a, u.b, u.d2) {
							counts[t]++
						}
						if int(u.b)%T == t && h.push(u.b, u.a, u.d2) {
							counts[t]++
						}
					}
				}
			})
			if err != nil {
				return nil, fmt.Errorf("knn: %w", err)
			}
			for _, c := range counts {
				changed += c
			}
		}
		opt.report(float64(opt.Trees+it+1) / totalSteps)
		if float64(changed) <= opt.Delta*float64(n*k) {
			break
		}
	}
	g := &Graph{N: n, K: k, Index: h.idx, Dist: h.d2}
	for c, v := range g.Dist {
		g.Dist[c] = float32(math.Sqrt(float64(v)))
	}
	sortRows(g)
	if k > opt.K {
		out := &Graph{N: n, K: opt.K, Index: make([]int32, n*opt.K), Dist: make([]float32, n*opt.K)}
		for r := range n {
			idx, dist := g.Row(r)
			copy(out.Index[r*opt.K:(r+1)*opt.K], idx)
			copy(out.Dist[r*opt.K:(r+1)*opt.K], dist)
		}
		g = out
	}
	opt.report(1)
	return g, nil
}

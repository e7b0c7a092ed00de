package cluster

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/deepercluster/deepercluster/internal/par"
)

// microKernels is one instruction set's register-blocked kernels. A tile is
// mr lanes (columns of C, or centroids) by nr rows (rows of C, or points).
//
// P is a packed panel: element (p, r) at p[p*mr+r], r < mr.
// Q is read in place: element (j, p) at q[j*rs+p*ps], j < nr, so a
// row-major matrix needs no packing (rs = ld, ps = 1), nor a transposed one
// (rs = 1, ps = ld).
type microKernels struct {
	name   string
	mr, nr int
	// gemm sets c[j*ldc+r] = alpha*sum_p P(p,r)*Q(j,p) + beta*c[j*ldc+r]
	// for the whole tile; with beta == 0 it does not read c.
	gemm func(kc int, p, q []float32, rs, ps int, c []float32, ldc int, alpha, beta float32)
	// argmin computes d = cn[r] + sum_p P(p,r)*Q(j,p) and, where
	// d < minv[j*mr+r], stores d there and j0+r in idxv[j*mr+r].
	argmin func(kc int, p, q []float32, rs, ps int, cn, minv []float32, idxv []int32, j0 int32)
	// narrow, when set, is a kernel of fewer lanes (and no argmin) that
	// sgemm uses instead for products of at most narrow.mr columns: a
	// 32-lane kernel on 16 columns computes as much padding as result.
	narrow *microKernels
	// block is the cache blocking sgemm runs this kernel with, chosen
	// with it per CPU (chooseShape); zero fields take defaultBlocking's.
	block blocking
}

// blocking is the cache blocking of sgemm: kc is the inner dimension per
// pass (a kc x mr P panel stays in L1), mc the rows of one work item, nc the
// columns of op(B) packed per pass.
type blocking struct{ kc, mc, nc int }

// defaultBlocking is the Intel tuning (48 KiB L1d), for kernel sets used
// directly rather than through chooseShape.
var defaultBlocking = blocking{kc: 256, mc: mcRows, nc: ncMax}

// sizes returns b with defaultBlocking's value for every zero field.
func (b blocking) sizes() (kc, mc, nc int) {
	kc, mc, nc = b.kc, b.mc, b.nc
	if kc <= 0 {
		kc = defaultBlocking.kc
	}
	if mc <= 0 {
		mc = defaultBlocking.mc
	}
	if nc <= 0 {
		nc = defaultBlocking.nc
	}
	return kc, mc, nc
}

// kernels and kernelShape are chosen once from the CPU (the CPU-kind table
// in cpukind.go); they are read-only after init.
var kernels, kernelShape = pickKernels()

// KernelName says which micro-kernel this process uses ("avx512", "avx2" or
// "generic"), for benchmarks and logs.
func KernelName() string { return kernels.name }

// KernelInfo describes the matrix-product configuration chosen for this
// CPU (kind, kernel, tile, blocking and the caches it came from), so that a
// benchmark's figure says what ran and not only on which CPU.
func KernelInfo() KernelShape { return kernelShape }

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major float32
// matrices, where op(A) is m x k (A itself, or A transposed when transA) and
// op(B) is k x n. It is the fast matrix product of the package, exported so
// other packages (the trainer's layers) can use the same kernels; it runs in
// parallel over GOMAXPROCS goroutines when the product is large. With
// beta == 0, C is not read (NaNs in it do not propagate), as in BLAS.
//
// Sizes that do not fit the slices are programming errors and panic with a
// message, as gonum's BLAS does.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if err := checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc); err != nil {
		panic(err)
	}
	sgemm(kernels, 0, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Gemm is a single-threaded matrix product that keeps its packing buffers
// across calls. It is for callers that already spread their own work items
// over the cores (the trainer's convolutions run three products per image
// and layer on each core, thousands per training step): with Sgemm there,
// every product would start GOMAXPROCS more goroutines, the two levels
// would oversubscribe the cores, and each call would allocate its buffers
// anew. The zero value is ready; one Gemm per goroutine.
type Gemm struct {
	packed, tile, qpad []float32
}

// Sgemm is the package's Sgemm on the calling goroutine, with g's buffers.
// Results are bit for bit those of Sgemm.
func (g *Gemm) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if err := checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc); err != nil {
		panic(err)
	}
	sgemmBuf(kernels, 1, g, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// grow32 returns s resized to n, reallocated only when too small.
func grow32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("cluster.Sgemm: negative size m=%d n=%d k=%d", m, n, k)
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	check := func(name string, s []float32, rows, cols, ld int) error {
		if rows == 0 || cols == 0 {
			return nil
		}
		if ld < cols {
			return fmt.Errorf("cluster.Sgemm: ld%s = %d < %d columns", name, ld, cols)
		}
		if need := (rows-1)*ld + cols; len(s) < need {
			return fmt.Errorf("cluster.Sgemm: %s has %d elements, %d x %d with ld %d needs %d", name, len(s), rows, cols, ld, need)
		}
		return nil
	}
	if m == 0 || n == 0 {
		return check("c", c, m, n, ldc)
	}
	if err := check("a", a, ar, ac, lda); err != nil {
		return err
	}
	if err := check("b", b, br, bc, ldb); err != nil {
		return err
	}
	return check("c", c, m, n, ldc)
}

func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// sgemm is Sgemm with a given kernel set and thread count (0 = GOMAXPROCS).
//
// Layout of the work: C's columns are the lanes of the kernel (P = op(B)
// transposed, packed in panels of mr columns), C's rows are its broadcast
// rows (Q = op(A), read in place). Loop order: column block (nc) ->
// inner-dimension block (kc) -> pack P -> row blocks of mc rows in
// parallel -> P panel -> row tile.
func sgemm(kr *microKernels, threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemmBuf(kr, threads, nil, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemmBuf is sgemm taking its buffers from buf when buf is not nil (then
// threads must be 1).
func sgemmBuf(kr *microKernels, threads int, buf *Gemm, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if threads <= 0 {
		threads = par.Threads()
	}
	if float64(m)*float64(n)*float64(k) < 1<<18 {
		threads = 1
	}
	// The narrow kernel adds the products of an element in the same order
	// as the wide one (kc blocks in turn, p ascending, one FMA each): with
	// alpha 1 and beta 0 or 1 the choice does not change a result's bits
	// (TestNarrowKernelSameBits), so PCA and k-means are unchanged by it.
	if kr.narrow != nil && n <= kr.narrow.mr {
		kr = kr.narrow
	}
	mr, nr := kr.mr, kr.nr
	kcB, mcB, ncB := kr.block.sizes()
	nc := min(n, ncB)
	kc := min(k, kcB)
	// op(B) of exactly mr contiguous columns is already one packed panel
	// (an NHWC gradient of 16 or 32 channels, say): read it in place.
	inPlace := !transB && n == mr && ldb == mr
	if buf == nil {
		buf = &Gemm{}
	}
	var packed []float32
	if !inPlace {
		buf.packed = grow32(buf.packed, kc*((nc+mr-1)/mr)*mr)
		packed = buf.packed
	}
	mc := max(nr, mcB/nr*nr) // whole tiles per row block
	rowBlocks := (m + mc - 1) / mc
	buf.tile, buf.qpad = grow32(buf.tile, mr*nr), grow32(buf.qpad, nr*kc)
	workers := min(threads, rowBlocks)
	var scr []gemmScratch // for the other workers
	for range workers - 1 {
		scr = append(scr, gemmScratch{tile: make([]float32, mr*nr), qpad: make([]float32, nr*kc)})
	}
	for jc := 0; jc < n; jc += nc {
		ncb := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kcb := min(kc, k-pc)
			betaEff := beta
			if pc > 0 {
				betaEff = 1
			}
			src := packed
			if inPlace {
				src = b[pc*ldb : (pc+kcb)*ldb]
			} else {
				packB(packed, transB, b, ldb, pc, kcb, jc, ncb, mr)
			}
			blk := gemmBlock{kr: kr, transA: transA, m: m, n: n, a: a, lda: lda, c: c, ldc: ldc, alpha: alpha, beta: betaEff,
				src: src, jc: jc, pc: pc, kcb: kcb, panels: (ncb + mr - 1) / mr, mc: mc}
			if workers == 1 {
				// no goroutines, closures or atomics: a single-threaded
				// product (a Gemm's, thousands per training step)
				// allocates nothing
				s := gemmScratch{tile: buf.tile, qpad: buf.qpad}
				for rb := range rowBlocks {
					blk.rows(s, rb)
				}
				continue
			}
			// copies for the closure, so that only this branch allocates
			shared, mine, others := blk, gemmScratch{tile: buf.tile, qpad: buf.qpad}, scr
			var next atomic.Int64
			par.Workers(workers, func(w int) {
				s := mine
				if w > 0 {
					s = others[w-1]
				}
				for {
					rb := int(next.Add(1)) - 1
					if rb >= rowBlocks {
						return
					}
					shared.rows(s, rb)
				}
			})
		}
	}
}

// gemmScratch is one worker's buffers: a tile for the edges of C and a
// zero-padded block of op(A) rows.
type gemmScratch struct {
	tile, qpad []float32
}

// gemmBlock is one (column block, inner block) pass of sgemmBuf: op(B)'s
// packed panels src against row blocks of op(A), into C.
type gemmBlock struct {
	kr                      *microKernels
	transA                  bool
	m, n, lda, ldc          int
	a, c, src               []float32
	alpha, beta             float32
	jc, pc, kcb, panels, mc int
}

// rows runs row block rb (rows rb*mc .. +mc of C) over every panel.
func (g *gemmBlock) rows(s gemmScratch, rb int) {
	kr, mr, nr := g.kr, g.kr.mr, g.kr.nr
	i0 := rb * g.mc
	i1 := min(g.m, i0+g.mc)
	for t := 0; t < g.panels; t++ {
		pp := g.src[t*g.kcb*mr : (t+1)*g.kcb*mr]
		j0 := g.jc + t*mr
		cols := min(mr, g.n-j0)
		for i := i0; i < i1; i += nr {
			rows := min(nr, i1-i)
			var q []float32
			var rs, ps int
			switch {
			case rows < nr:
				packQ(s.qpad, g.transA, g.a, g.lda, i, rows, g.pc, g.kcb, nr)
				q, rs, ps = s.qpad, g.kcb, 1
			case g.transA:
				q, rs, ps = g.a[g.pc*g.lda+i:], 1, g.lda
			default:
				q, rs, ps = g.a[i*g.lda+g.pc:], g.lda, 1
			}
			if rows == nr && cols == mr {
				kr.gemm(g.kcb, pp, q, rs, ps, g.c[i*g.ldc+j0:], g.ldc, g.alpha, g.beta)
				continue
			}
			kr.gemm(g.kcb, pp, q, rs, ps, s.tile, mr, 1, 0)
			for j := 0; j < rows; j++ {
				crow := g.c[(i+j)*g.ldc+j0 : (i+j)*g.ldc+j0+cols]
				trow := s.tile[j*mr : j*mr+cols]
				if g.beta == 0 {
					for r := range crow {
						crow[r] = g.alpha * trow[r]
					}
				} else {
					for r := range crow {
						crow[r] = g.alpha*trow[r] + g.beta*crow[r]
					}
				}
			}
		}
	}
}

// packB packs op(B)[pc:pc+kcb, jc:jc+ncb] into panels of mr columns, each
// kcb x mr, zero padded.
func packB(dst []float32, transB bool, b []float32, ldb, pc, kcb, jc, ncb, mr int) {
	panels := (ncb + mr - 1) / mr
	for t := 0; t < panels; t++ {
		pp := dst[t*kcb*mr : (t+1)*kcb*mr]
		j0 := jc + t*mr
		cols := min(mr, jc+ncb-j0)
		for p := 0; p < kcb; p++ {
			row := pp[p*mr : p*mr+mr]
			if !transB {
				copy(row, b[(pc+p)*ldb+j0:(pc+p)*ldb+j0+cols])
			} else {
				for r := 0; r < cols; r++ {
					row[r] = b[(j0+r)*ldb+pc+p]
				}
			}
			clear(row[cols:])
		}
	}
}

// packQ copies rows i..i+rows-1 of op(A), columns pc..pc+kcb-1, into dst as a
// nr x kcb row-major block, padding the missing rows with zeros.
func packQ(dst []float32, transA bool, a []float32, lda, i, rows, pc, kcb, nr int) {
	for j := 0; j < nr; j++ {
		row := dst[j*kcb : (j+1)*kcb]
		if j >= rows {
			clear(row)
			continue
		}
		if !transA {
			copy(row, a[(i+j)*lda+pc:(i+j)*lda+pc+kcb])
		} else {
			for p := range row {
				row[p] = a[(pc+p)*lda+i+j]
			}
		}
	}
}

// genericKernels are the portable pure-Go kernels.
var genericKernels = &microKernels{name: "generic", mr: genericMR, nr: genericNR, gemm: gemmGeneric, argmin: argminGeneric}

// Tile of the portable kernels: mr rows of the packed panel p by nr columns of q.
const genericMR, genericNR = 16, 4

// accumulateGeneric is the inner product both portable kernels share: the
// genericMR x genericNR tile of p times q over kc steps.
func accumulateGeneric(kc int, p, q []float32, rs, ps int) (acc [genericNR][genericMR]float32) {
	const mr, nr = genericMR, genericNR
	for pi := 0; pi < kc; pi++ {
		pv := p[pi*mr : pi*mr+mr]
		for j := 0; j < nr; j++ {
			qv := q[j*rs+pi*ps]
			a := &acc[j]
			for r := range a {
				a[r] += pv[r] * qv
			}
		}
	}
	return acc
}

func gemmGeneric(kc int, p, q []float32, rs, ps int, c []float32, ldc int, alpha, beta float32) {
	const mr, nr = genericMR, genericNR
	acc := accumulateGeneric(kc, p, q, rs, ps)
	for j := 0; j < nr; j++ {
		row := c[j*ldc : j*ldc+mr]
		for r := range row {
			if beta == 0 {
				row[r] = alpha * acc[j][r]
			} else {
				row[r] = alpha*acc[j][r] + beta*row[r]
			}
		}
	}
}

func argminGeneric(kc int, p, q []float32, rs, ps int, cn, minv []float32, idxv []int32, j0 int32) {
	const mr, nr = genericMR, genericNR
	acc := accumulateGeneric(kc, p, q, rs, ps)
	for j := 0; j < nr; j++ {
		for r := 0; r < mr; r++ {
			d := cn[r] + acc[j][r]
			if d < minv[j*mr+r] {
				minv[j*mr+r] = d
				idxv[j*mr+r] = j0 + int32(r)
			}
		}
	}
}

var posInf = float32(math.Inf(1))

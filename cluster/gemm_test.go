package cluster

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func randMat(rng *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(rng.NormFloat64())
	}
	return out
}

// naiveGemm is the reference: a float64 triple loop.
func naiveGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(v)
		}
	}
}

func TestSgemmMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {12, 32, 1}, {13, 33, 17}, {24, 64, 300}, {25, 31, 257},
		{7, 100, 3}, {100, 7, 520}, {121, 97, 64}, {36, 3100, 5}, {0, 5, 5}, {5, 0, 5}, {5, 5, 0},
		{40, 16, 300}, {37, 16, 33}, {130, 15, 20}, {250, 17, 9}}
	for _, kr := range cpuKernels() {
		for _, sh := range shapes {
			m, n, k := sh[0], sh[1], sh[2]
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.25}, {0, 3}} {
					name := fmt.Sprintf("%s/%dx%dx%d/tA=%v,tB=%v/alpha=%g,beta=%g", kr.name, m, n, k, tr[0], tr[1], ab[0], ab[1])
					// Leading dimensions larger than needed catch stride bugs.
					lda, ldb, ldc := k+3, n+2, n+5
					ar, br := m, k
					if tr[0] {
						lda, ar = m+3, k
					}
					if tr[1] {
						ldb, br = k+2, n
					}
					a := randMat(rng, ar*lda+1)
					b := randMat(rng, br*ldb+1)
					c := randMat(rng, m*ldc+1)
					want := append([]float32(nil), c...)
					if ab[1] == 0 { // beta = 0 must not read C
						for i := range c {
							c[i] = float32(math.NaN())
						}
					}
					naiveGemm(tr[0], tr[1], m, n, k, ab[0], a, lda, b, ldb, ab[1], want, ldc)
					sgemm(kr, 2, tr[0], tr[1], m, n, k, ab[0], a, lda, b, ldb, ab[1], c, ldc)
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							g, w := c[i*ldc+j], want[i*ldc+j]
							if !(math.Abs(float64(g-w)) <= 1e-4*math.Sqrt(float64(k+1))*(1+math.Abs(float64(w)))) {
								t.Fatalf("%s: C[%d][%d] = %v, want %v", name, i, j, g, w)
							}
						}
						// Padding between rows must be untouched.
						for j := n; j < ldc && i*ldc+j < len(c); j++ {
							if ab[1] != 0 && c[i*ldc+j] != want[i*ldc+j] {
								t.Fatalf("%s: wrote outside C at row %d col %d", name, i, j)
							}
						}
					}
				}
			}
		}
	}
}

// TestSgemmInPlacePanel covers the products whose B is read in place (no
// transpose, as many columns as the kernel has lanes, ld equal to them) and
// the narrow kernel on its full tiles, against the naive product; and that
// a Gemm, its buffers reused across shapes, gives bit for bit what Sgemm
// gives.
func TestSgemmInPlacePanel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var g Gemm
	for _, kr := range cpuKernels() {
		for _, n := range []int{16, 32} {
			for _, sh := range [][2]int{{300, 600}, {16, 5}, {129, 257}} {
				m, k := sh[0], sh[1]
				for _, tA := range []bool{false, true} {
					lda := k
					if tA {
						lda = m
					}
					a, b := randMat(rng, m*k), randMat(rng, k*n)
					want, got := make([]float32, m*n), make([]float32, m*n)
					naiveGemm(tA, false, m, n, k, 1, a, lda, b, n, 0, want, n)
					sgemm(kr, 2, tA, false, m, n, k, 1, a, lda, b, n, 0, got, n)
					for i := range want {
						if !(math.Abs(float64(got[i]-want[i])) <= 1e-4*math.Sqrt(float64(k+1))*(1+math.Abs(float64(want[i])))) {
							t.Fatalf("%s %dx%dx%d tA=%v: C[%d] = %v, want %v", kr.name, m, n, k, tA, i, got[i], want[i])
						}
					}
					if kr.name == kernels.name {
						serial := make([]float32, m*n)
						Sgemm(tA, false, m, n, k, 1, a, lda, b, n, 0, got, n)
						g.Sgemm(tA, false, m, n, k, 1, a, lda, b, n, 0, serial, n)
						for i := range got {
							if got[i] != serial[i] {
								t.Fatalf("%dx%dx%d: Gemm.Sgemm %v, Sgemm %v at %d", m, n, k, serial[i], got[i], i)
							}
						}
					}
				}
			}
		}
	}
}

// TestNarrowKernelSameBits: products of at most 16 columns, with and
// without the narrow kernel, give the same bits (alpha 1, beta 0 or 1).
func TestNarrowKernelSameBits(t *testing.T) {
	// the chosen kernels without their narrow one, same blocking
	var wide *microKernels
	if kernels.narrow != nil {
		w := *kernels
		w.narrow = nil
		wide = &w
	}
	if wide == nil {
		// About the machine (see TestMaxPoolPaths in trainer): without the
		// narrow kernel's instructions it is never called here.
		t.Skip("no narrow kernel on this CPU: it is not used here")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sh := range [][3]int{{1000, 16, 300}, {37, 9, 600}, {130, 16, 20}} {
		m, n, k := sh[0], sh[1], sh[2]
		for _, tA := range []bool{false, true} {
			for _, beta := range []float32{0, 1} {
				lda := k
				if tA {
					lda = m
				}
				a, b, c0 := randMat(rng, m*k), randMat(rng, k*n), randMat(rng, m*n)
				got, want := append([]float32(nil), c0...), append([]float32(nil), c0...)
				sgemm(kernels, 2, tA, false, m, n, k, 1, a, lda, b, n, beta, got, n)
				sgemm(wide, 2, tA, false, m, n, k, 1, a, lda, b, n, beta, want, n)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%dx%dx%d tA=%v beta=%v: C[%d] = %v narrow, %v wide", m, n, k, tA, beta, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func TestSgemmPanicsOnShortSlices(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a too short A")
		}
	}()
	Sgemm(false, false, 4, 4, 4, 1, make([]float32, 15), 4, make([]float32, 16), 4, 0, make([]float32, 16), 4)
}

func TestKernelDetected(t *testing.T) {
	if KernelName() == "" {
		t.Fatal("no kernel name")
	}
	if sh := KernelInfo(); sh.Kernel != KernelName() || sh.KC != kernels.block.kc || sh.KC < minKC || sh.KC > maxKC || sh.Kind == "" {
		t.Fatalf("KernelInfo %s (kc %d) disagrees with the kernels in use: %s, kc %d", sh, sh.KC, KernelName(), kernels.block.kc)
	}
	t.Logf("kernel in use: %s; available: %d sets", KernelInfo(), len(cpuKernels()))
}

func BenchmarkSgemm(b *testing.B) {
	for _, kr := range cpuKernels() {
		const m, n, k = 1024, 1000, 256
		rng := rand.New(rand.NewPCG(1, 2))
		x, y, c := randMat(rng, m*k), randMat(rng, n*k), make([]float32, m*n)
		b.Run(kr.name, func(b *testing.B) {
			for range b.N {
				sgemm(kr, 0, false, true, m, n, k, 1, x, k, y, k, 0, c, n)
			}
			b.ReportMetric(2*m*n*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

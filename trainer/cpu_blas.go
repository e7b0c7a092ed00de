package trainer

import (
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"

	"github.com/deepercluster/deepercluster/cluster"
)

// fastBLAS is gonum's BLAS with the float32 matrix product swapped for the
// clustering engine's AVX-512/AVX2 Sgemm, which gorgonia's convolutions
// (im2col + GEMM) and fc layers then use.
type fastBLAS struct{ gonum.Implementation }

// Sgemm implements blas.Float32 with cluster.Sgemm (row-major, as gonum).
func (fastBLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	cluster.Sgemm(tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

var useFastBLAS sync.Once

// installFastBLAS makes gorgonia use fastBLAS. Departure from "no global
// mutable state": gorgonia only takes its BLAS as a process-wide setting;
// we set it once, to a stateless implementation, before any graph runs.
func installFastBLAS() { useFastBLAS.Do(func() { G.Use(fastBLAS{}) }) }

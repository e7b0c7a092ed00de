//go:build amd64

package cluster

//go:generate go run gen_kernels.go

// Implemented in kernels_amd64.s (generated).

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

//go:noescape
func gemm512(kc int, p, q *float32, rs, ps int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func argmin512(kc int, p, q *float32, rs, ps int, cn, minv *float32, idxv *int32, j0 int32)

//go:noescape
func gemm256(kc int, p, q *float32, rs, ps int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func gemm512n16(kc int, p, q *float32, rs, ps int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func argmin256(kc int, p, q *float32, rs, ps int, cn, minv *float32, idxv *int32, j0 int32)

var avx512Kernels = &microKernels{name: "avx512", mr: 32, nr: 12, narrow: avx512Narrow,
	gemm: func(kc int, p, q []float32, rs, ps int, c []float32, ldc int, alpha, beta float32) {
		gemm512(kc, &p[0], &q[0], rs, ps, &c[0], ldc, alpha, beta)
	},
	argmin: func(kc int, p, q []float32, rs, ps int, cn, minv []float32, idxv []int32, j0 int32) {
		argmin512(kc, &p[0], &q[0], rs, ps, &cn[0], &minv[0], &idxv[0], j0)
	},
}

// avx512Narrow is the 16-lane AVX-512 kernel that sgemm uses for products
// of at most 16 columns; it has no argmin (k-means never asks it).
var avx512Narrow = &microKernels{name: "avx512n16", mr: 16, nr: 16,
	gemm: func(kc int, p, q []float32, rs, ps int, c []float32, ldc int, alpha, beta float32) {
		gemm512n16(kc, &p[0], &q[0], rs, ps, &c[0], ldc, alpha, beta)
	},
}

var avx2Kernels = &microKernels{name: "avx2", mr: 16, nr: 6,
	gemm: func(kc int, p, q []float32, rs, ps int, c []float32, ldc int, alpha, beta float32) {
		gemm256(kc, &p[0], &q[0], rs, ps, &c[0], ldc, alpha, beta)
	},
	argmin: func(kc int, p, q []float32, rs, ps int, cn, minv []float32, idxv []int32, j0 int32) {
		argmin256(kc, &p[0], &q[0], rs, ps, &cn[0], &minv[0], &idxv[0], j0)
	},
}

// cpuKernels lists the kernel sets this CPU can run, fastest first.
func cpuKernels() []*microKernels {
	var out []*microKernels
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return append(out, genericKernels)
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&fma == 0 || ecx1&osxsave == 0 || ecx1&avx == 0 {
		return append(out, genericKernels)
	}
	xcr0, _ := xgetbv()
	_, ebx7, _, _ := cpuid(7, 0)
	const avx2, avx512f = 1 << 5, 1 << 16
	if xcr0&0xe6 == 0xe6 && ebx7&avx512f != 0 {
		out = append(out, avx512Kernels)
	}
	if xcr0&0x6 == 0x6 && ebx7&avx2 != 0 {
		out = append(out, avx2Kernels)
	}
	return append(out, genericKernels)
}

func pickKernels() *microKernels { return cpuKernels()[0] }

//go:noescape
func sumRows512(sum *float64, x *float32, d int, rows *int32, nrows int)

// hasAVX512 says whether the AVX-512 kernels were picked for this CPU.
var hasAVX512 = kernels == avx512Kernels

// sumRows sets sum[j] to the float64 sum of x[i*d+j] over the rows i, added
// in the given order.
func sumRows(sum []float64, x []float32, d int, rows []int32) {
	if !hasAVX512 || len(rows) == 0 || d < 8 {
		sumRowsGeneric(sum, x, d, rows)
		return
	}
	sumRows512(&sum[0], &x[0], d, &rows[0], len(rows))
	if tail := d &^ 7; tail < d {
		sumRowsTail(sum, x, d, rows, tail)
	}
}

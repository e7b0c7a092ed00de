//go:build amd64

package cluster

import "os"

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

// cpuKernels lists the kernel sets this CPU can run, widest first (with
// their default blocking), for the tests and benchmarks that try each.
func cpuKernels() []*microKernels {
	f := readCPUFacts()
	var out []*microKernels
	if f.avx512 {
		out = append(out, avx512Kernels)
	}
	if f.avx2 && f.fma {
		out = append(out, avx2Kernels)
	}
	return append(out, genericKernels)
}

// pickKernels chooses this CPU's kernels and blocking (cpukind.go), or the
// kernel KernelEnv names.
func pickKernels() (*microKernels, KernelShape) {
	sets := map[string]*microKernels{}
	for _, kr := range cpuKernels() {
		sets[kr.name] = kr
	}
	return chooseShape(readCPUFacts(), sets, os.Getenv(KernelEnv))
}

// readCPUFacts reads the vendor, family, model, usable vector extensions
// and data cache sizes from CPUID.
func readCPUFacts() cpuFacts {
	var f cpuFacts
	maxLeaf, b, c, d := cpuid(0, 0)
	f.vendor = string([]byte{byte(b), byte(b >> 8), byte(b >> 16), byte(b >> 24), byte(d), byte(d >> 8), byte(d >> 16), byte(d >> 24),
		byte(c), byte(c >> 8), byte(c >> 16), byte(c >> 24)})
	if maxLeaf < 1 {
		return f
	}
	eax1, _, ecx1, _ := cpuid(1, 0)
	f.family, f.model = familyModel(eax1)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if maxLeaf >= 7 && ecx1&osxsave != 0 && ecx1&avx != 0 {
		xcr0, _ := xgetbv()
		_, ebx7, _, _ := cpuid(7, 0)
		const avx2, avx512f = 1 << 5, 1 << 16
		f.fma = ecx1&fma != 0
		f.avx2 = xcr0&0x6 == 0x6 && ebx7&avx2 != 0
		f.avx512 = f.avx2 && f.fma && xcr0&0xe6 == 0xe6 && ebx7&avx512f != 0
	}
	f.l1d, f.l2, f.l3 = readCaches(f.vendor, maxLeaf)
	f.cacheFromCPUID = f.l1d > 0
	return f
}

// readCaches reads the data cache sizes from CPUID leaf 4 (Intel) or
// 0x8000001D (AMD, same layout); on AMD where that leaf reads zero (some
// hypervisors hide it) from the legacy leaves 0x80000005 (L1d) and
// 0x80000006 (L2). Zero means unknown.
func readCaches(vendor string, maxLeaf uint32) (l1d, l2, l3 int) {
	leaf := uint32(4) // Intel's deterministic cache parameters
	if vendor == "AuthenticAMD" || vendor == "HygonGenuine" {
		maxExt, _, _, _ := cpuid(0x80000000, 0)
		if maxExt >= 0x8000001D {
			l1d, l2, l3 = cacheLeaves(0x8000001D)
		}
		if l1d == 0 && maxExt >= 0x80000006 {
			_, _, c5, _ := cpuid(0x80000005, 0)
			_, _, c6, _ := cpuid(0x80000006, 0)
			l1d, l2 = int(c5>>24)<<10, int(c6>>16)<<10
		}
		return l1d, l2, l3
	}
	if maxLeaf < leaf {
		return 0, 0, 0
	}
	return cacheLeaves(leaf)
}

// cacheLeaves walks the subleaves of a deterministic cache leaf.
func cacheLeaves(leaf uint32) (l1d, l2, l3 int) {
	for sub := uint32(0); sub < 16; sub++ {
		a, b, c, _ := cpuid(leaf, sub)
		typ, level, size := cacheLeaf(a, b, c)
		if typ == 0 {
			break
		}
		switch {
		case level == 1 && typ == 1:
			l1d = size
		case level == 2 && typ != 2:
			l2 = size
		case level == 3 && typ != 2:
			l3 = size
		}
	}
	return l1d, l2, l3
}

//go:noescape
func sumRows512(sum *float64, x *float32, d int, rows *int32, nrows int)

// hasAVX512 says whether the AVX-512 kernels were picked for this CPU.
var hasAVX512 = kernels.name == avx512Kernels.name

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

//go:build amd64

package trainer

import "github.com/deepercluster/deepercluster/cluster"

// Implemented in cpu_bn_amd64.s; c must be a multiple of 16, the slices
// behind the pointers long enough (the wrappers in cpu_bn.go check).

//go:noescape
func bnSum512(x *float32, rows, c int, acc *float64)

//go:noescape
func bnSumSqDev512(x *float32, rows, c int, mean, acc *float64)

//go:noescape
func bnFwd512(x, y *float32, rows, c int, mean, inv, gamma, beta *float32)

//go:noescape
func bnBwdSums512(x, dy *float32, rows, c int, mean, inv, gamma, beta *float32, acc *float64)

//go:noescape
func bnBwdDX512(x, dy, dx *float32, rows, c int, mean, inv, gamma, beta, k, mb, mg *float32)

// bnAVX512 is whether the CPU runs AVX-512 (the matrix product's choice,
// made once at start-up); read-only after init.
var bnAVX512 = cluster.KernelName() == "avx512"

//go:noescape
func poolRow512(r0, r1, y *float32, half, c int)

//go:noescape
func poolGradRow512(r0, r1, y, dy, d0, d1 *float32, half, c int)

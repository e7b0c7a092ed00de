//go:build !amd64

package trainer

const bnAVX512 = false

func bnSum512(x *float32, rows, c int, acc *float64)                       { panic("no AVX-512") }
func bnSumSqDev512(x *float32, rows, c int, mean, acc *float64)            { panic("no AVX-512") }
func bnFwd512(x, y *float32, rows, c int, mean, inv, gamma, beta *float32) { panic("no AVX-512") }
func bnBwdSums512(x, dy *float32, rows, c int, mean, inv, gamma, beta *float32, acc *float64) {
	panic("no AVX-512")
}
func bnBwdDX512(x, dy, dx *float32, rows, c int, mean, inv, gamma, beta, k, mb, mg *float32) {
	panic("no AVX-512")
}

func poolRow512(r0, r1, y *float32, half, c int)                 { panic("no AVX-512") }
func poolGradRow512(r0, r1, y, dy, d0, d1 *float32, half, c int) { panic("no AVX-512") }

package trainer

import "math"

// The elementwise passes of the training BatchNorm+ReLU layers (bnReLUOp),
// over rows of c channels (NHWC). Each has an AVX-512 kernel
// (cpu_bn_amd64.s) for c a multiple of 16, the widths of the default
// network, and a plain Go loop for the rest; both compute the same thing
// in the same order, so a run does not depend on which one ran, up to the
// rounding of the one fused multiply-add in bnSumSqDev. These passes were
// a third of a training step at 64 px as Go loops: memory-bound in theory,
// instruction-bound in practice (about 25 instructions per element).
//
// h = (x-mean)*inv is not stored by the forward pass: the backward pass
// recomputes it, bit for bit, from the layer's input, which saves writing
// and reading one activation-sized tensor per layer.

// bnSIMD says whether the AVX-512 kernels take c channels.
func bnSIMD(c int) bool { return bnAVX512 && c%16 == 0 }

// bnSum adds float64(x) over rows into acc[:c], row after row.
func bnSum(x []float32, rows, c int, acc []float64) {
	if rows == 0 {
		return
	}
	x, acc = x[:rows*c], acc[:c]
	if bnSIMD(c) {
		bnSum512(&x[0], rows, c, &acc[0])
		return
	}
	for r := range rows {
		row := x[r*c : (r+1)*c]
		for j, v := range row {
			acc[j] += float64(v)
		}
	}
}

// bnSumSqDev adds (float64(x)-mean)^2 over rows into acc[:c].
func bnSumSqDev(x []float32, rows, c int, mean, acc []float64) {
	if rows == 0 {
		return
	}
	x, mean, acc = x[:rows*c], mean[:c], acc[:c]
	if bnSIMD(c) {
		bnSumSqDev512(&x[0], rows, c, &mean[0], &acc[0])
		return
	}
	for r := range rows {
		row := x[r*c : (r+1)*c]
		for j, v := range row {
			d := float64(v) - mean[j]
			acc[j] += d * d
		}
	}
}

// bnFwd writes y = relu(gamma*((x-mean)*inv) + beta) for rows of c.
func bnFwd(x, y []float32, rows, c int, mean, inv, gamma, beta []float32) {
	if rows == 0 {
		return
	}
	x, y = x[:rows*c], y[:rows*c]
	mean, inv, gamma, beta = mean[:c], inv[:c], gamma[:c], beta[:c]
	if bnSIMD(c) {
		bnFwd512(&x[0], &y[0], rows, c, &mean[0], &inv[0], &gamma[0], &beta[0])
		return
	}
	for r := range rows {
		xr, yr := x[r*c:(r+1)*c], y[r*c:(r+1)*c]
		for j, v := range xr {
			yr[j] = max(gamma[j]*((v-mean[j])*inv[j])+beta[j], 0)
		}
	}
}

// reluGrad is d where the ReLU output y is positive and 0 where it is not,
// without a branch: half of a layer's outputs are zero in no predictable
// pattern, so a branch here mispredicted about every other element (it
// made BN's backward pass a fifth of a training step). The mask is set
// when the bits of y, as an int32, are positive: y > 0 (or a NaN of
// positive sign); +0 and -0 give 0.
func reluGrad(y, d float32) float32 {
	b := int32(math.Float32bits(y))
	m := uint32((-b &^ b) >> 31)
	return math.Float32frombits(math.Float32bits(d) & m)
}

// bnBwdSums adds, with h = (x-mean)*inv and dz = reluGrad(y, dy),
// float64(dz*h) into acc[:c] and float64(dz) into acc[c:2c]. y is the
// forward pass's output, y = max(gamma*h+beta, 0); the AVX-512 kernel
// recomputes gamma*h+beta, bit for bit, instead of reading y (one stream
// of memory fewer); the Go loop reads y.
func bnBwdSums(x, y, dy []float32, rows, c int, mean, inv, gamma, beta []float32, acc []float64) {
	if rows == 0 {
		return
	}
	x, y, dy = x[:rows*c], y[:rows*c], dy[:rows*c]
	mean, inv, gamma, beta, acc = mean[:c], inv[:c], gamma[:c], beta[:c], acc[:2*c]
	if bnSIMD(c) {
		bnBwdSums512(&x[0], &dy[0], rows, c, &mean[0], &inv[0], &gamma[0], &beta[0], &acc[0])
		return
	}
	ag, ab := acc[:c], acc[c:2*c]
	for r := range rows {
		xr := x[r*c : (r+1)*c]
		yr, dr := y[r*c:r*c+len(xr)], dy[r*c:r*c+len(xr)]
		for j, v := range xr {
			dz := reluGrad(yr[j], dr[j])
			ag[j] += float64(dz * ((v - mean[j]) * inv[j]))
			ab[j] += float64(dz)
		}
	}
}

// bnBwdDX writes dx = k*((dz-mb) - h*mg), h and dz as in bnBwdSums.
func bnBwdDX(x, y, dy, dx []float32, rows, c int, mean, inv, gamma, beta, k, mb, mg []float32) {
	if rows == 0 {
		return
	}
	x, y, dy, dx = x[:rows*c], y[:rows*c], dy[:rows*c], dx[:rows*c]
	mean, inv, gamma, beta = mean[:c], inv[:c], gamma[:c], beta[:c]
	k, mb, mg = k[:c], mb[:c], mg[:c]
	if bnSIMD(c) {
		bnBwdDX512(&x[0], &dy[0], &dx[0], rows, c, &mean[0], &inv[0], &gamma[0], &beta[0], &k[0], &mb[0], &mg[0])
		return
	}
	for r := range rows {
		xr := x[r*c : (r+1)*c]
		yr, dr, or := y[r*c:r*c+len(xr)], dy[r*c:r*c+len(xr)], dx[r*c:r*c+len(xr)]
		for j, v := range xr {
			h := (v - mean[j]) * inv[j]
			or[j] = k[j] * ((reluGrad(yr[j], dr[j]) - mb[j]) - h*mg[j])
		}
	}
}

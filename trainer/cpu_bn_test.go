package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// TestBNKernels holds the batch-norm passes (AVX-512 for multiples of 16
// channels, Go loops otherwise) to plain float64 formulas, with the layer's
// output y from the forward pass (about half exact zeros; the AVX-512
// backward recomputes its mask, the Go one reads y) and rows not a
// multiple of anything.
func TestBNKernels(t *testing.T) {
	for _, c := range []int{5, 16, 48, 64} {
		t.Run(fmt.Sprintf("c=%d", c), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(c), 1))
			const rows = 37
			n := rows * c
			x, y, dy := make([]float32, n), make([]float32, n), make([]float32, n)
			fillNormal(x, 2, rng)
			fillNormal(dy, 1, rng)
			mean, inv, gamma, beta := make([]float32, c), make([]float32, c), make([]float32, c), make([]float32, c)
			k, mb, mg := make([]float32, c), make([]float32, c), make([]float32, c)
			mean64 := make([]float64, c)
			for j := range c {
				mean[j], inv[j] = float32(rng.NormFloat64()), 0.5+rng.Float32()
				gamma[j], beta[j] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
				k[j], mb[j], mg[j] = float32(rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())
				mean64[j] = float64(mean[j])
			}
			sum, sq, bw := make([]float64, c), make([]float64, c), make([]float64, 2*c)
			for j := range c {
				sum[j], sq[j], bw[j], bw[c+j] = 1, 2, 3, 4 // the kernels add to what is there
			}
			bnFwd(x, y, rows, c, mean, inv, gamma, beta)
			zeros := 0
			for _, v := range y {
				if v == 0 {
					zeros++
				}
			}
			if zeros < n/5 || zeros > 4*n/5 {
				t.Fatalf("%d of %d outputs are zero: the ReLU mask is hardly tested", zeros, n)
			}
			bnSum(x, rows, c, sum)
			bnSumSqDev(x, rows, c, mean64, sq)
			bnBwdSums(x, y, dy, rows, c, mean, inv, gamma, beta, bw)
			out, dx := make([]float32, n), make([]float32, n)
			bnFwd(x, out, rows, c, mean, inv, gamma, beta)
			bnBwdDX(x, y, dy, dx, rows, c, mean, inv, gamma, beta, k, mb, mg)
			close := func(what string, got, want float64) {
				t.Helper()
				if math.Abs(got-want) > 1e-5*(1+math.Abs(want)) {
					t.Fatalf("%s: %v, want %v", what, got, want)
				}
			}
			for j := range c {
				ws, wq, wg, wb := 1.0, 2.0, 3.0, 4.0
				for r := range rows {
					v := float64(x[r*c+j])
					h := (v - mean64[j]) * float64(inv[j])
					ws += v
					wq += (v - mean64[j]) * (v - mean64[j])
					dz := 0.0
					if y[r*c+j] > 0 {
						dz = float64(dy[r*c+j])
					}
					wg += dz * h
					wb += dz
					close(fmt.Sprintf("forward row %d channel %d", r, j), float64(out[r*c+j]), math.Max(float64(gamma[j])*h+float64(beta[j]), 0))
					close(fmt.Sprintf("dx row %d channel %d", r, j), float64(dx[r*c+j]), float64(k[j])*(dz-float64(mb[j])-h*float64(mg[j])))
				}
				close(fmt.Sprintf("sum %d", j), sum[j], ws)
				close(fmt.Sprintf("squares %d", j), sq[j], wq)
				close(fmt.Sprintf("dgamma %d", j), bw[j], wg)
				close(fmt.Sprintf("dbeta %d", j), bw[c+j], wb)
			}
			// NaN stays NaN through the forward pass (the step's NaN check
			// relies on it), at any position in the vector
			x[3*c+c-1] = float32(math.NaN())
			bnFwd(x, out, rows, c, mean, inv, gamma, beta)
			if !math.IsNaN(float64(out[3*c+c-1])) {
				t.Fatalf("NaN input gave %v", out[3*c+c-1])
			}
		})
	}
}

// TestMaxPoolPaths holds the AVX-512 max-pool (which finds each window's
// first maximum again in the backward pass) to the Go one (which records
// it), bit for bit, on inputs with many ties (ReLU zeros and repeated
// values), where "first in scan order" matters.
func TestMaxPoolPaths(t *testing.T) {
	if !bnSIMD(16) {
		// About the machine, not a missing package: without AVX-512 the
		// kernel under test is never called (the Go path, tested on every
		// CPU, runs instead), so there is nothing to compare; failing in
		// CI would only make CI depend on its runner's CPU.
		t.Skip("no AVX-512 on this CPU: the AVX-512 max-pool is not used here")
	}
	for _, c := range []int{16, 48} {
		const b, side = 3, 6
		rng := rand.New(rand.NewPCG(uint64(c), 9))
		x := make([]float32, b*side*side*c)
		for i := range x {
			x[i] = float32(max(0, rng.IntN(5)-2)) // 0, 0, 0, 1, 2
		}
		h := side / 2
		dy := make([]float32, b*h*h*c)
		fillNormal(dy, 1, rng)
		var ys, dxs [2][]float32
		for k, simd := range []bool{true, false} {
			op := newMaxPoolOp(b, side, c)
			if op.simd != simd {
				op.simd = simd
				op.arg = make([]int32, b*h*h*c)
			}
			xt := tensor.New(tensor.WithShape(b, side, side, c), tensor.WithBacking(x))
			y, err := op.Do(xt)
			if err != nil {
				t.Fatal(err)
			}
			ys[k] = append([]float32(nil), f32(y)...)
			g := &maxPoolGradOp{opBase: opBase{"grad"}, f: op}
			dyt := tensor.New(tensor.WithShape(b, h, h, c), tensor.WithBacking(dy))
			dx, err := g.Do(y, dyt)
			if err != nil {
				t.Fatal(err)
			}
			dxs[k] = append([]float32(nil), f32(dx)...)
		}
		for i := range ys[0] {
			if ys[0][i] != ys[1][i] {
				t.Fatalf("c=%d: output %d: %v with AVX-512, %v in Go", c, i, ys[0][i], ys[1][i])
			}
		}
		var sum float64
		for i := range dxs[0] {
			if dxs[0][i] != dxs[1][i] {
				t.Fatalf("c=%d: gradient %d: %v with AVX-512, %v in Go", c, i, dxs[0][i], dxs[1][i])
			}
			sum += math.Abs(float64(dxs[0][i]))
		}
		if sum == 0 {
			t.Fatal("all gradients zero: the comparison proves nothing")
		}
	}
}

package gpu

import (
	"fmt"
	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/gpu/device"
	"math"
	"math/rand/v2"
	"testing"
)

// bnRef is training-mode BatchNorm+ReLU over NCHW x (b, c, ss) in float64:
// the batch mean and biased variance per channel, y, and the updated
// running statistics (momentum 0.1, running variance unbiased).
func bnRef(x, gamma, beta, rm, rv []float32, b, c, ss int) (y, mean, inv, nrm, nrv []float64) {
	n := float64(b * ss)
	mean, inv = make([]float64, c), make([]float64, c)
	nrm, nrv = make([]float64, c), make([]float64, c)
	y = make([]float64, len(x))
	for ch := range c {
		var s, q float64
		for i := range b {
			for p := range ss {
				s += float64(x[(i*c+ch)*ss+p])
			}
		}
		m := s / n
		for i := range b {
			for p := range ss {
				d := float64(x[(i*c+ch)*ss+p]) - m
				q += d * d
			}
		}
		mean[ch], inv[ch] = m, 1/math.Sqrt(q/n+bnEps)
		nrm[ch] = 0.1*m + 0.9*float64(rm[ch])
		nrv[ch] = 0.1*q/(n-1) + 0.9*float64(rv[ch])
		for i := range b {
			for p := range ss {
				j := (i*c+ch)*ss + p
				y[j] = max(float64(gamma[ch])*(float64(x[j])-m)*inv[ch]+float64(beta[ch]), 0)
			}
		}
	}
	return
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func testBatchNorm(t *testing.T, dev device.Device) {
	o := ops{dev}
	rng := rand.New(rand.NewPCG(5, 5))
	for _, tc := range []struct{ b, c, ss int }{
		{1, 1, 9},
		{3, 5, 49},
		{2, 3, 4099},    // two partial sums per channel
		{64, 2, 64 * 9}, // several partial sums, more than one image each
	} {
		t.Run(fmt.Sprintf("b%d_c%d_ss%d", tc.b, tc.c, tc.ss), func(t *testing.T) {
			b, c, ss := tc.b, tc.c, tc.ss
			x := randSlice(rng, b*c*ss)
			for i := range x {
				x[i] = 3*x[i] + 1 // a mean and scale far from N(0, 1)
			}
			gamma, beta := randSlice(rng, c), randSlice(rng, c)
			rm, rv := randSlice(rng, c), make([]float32, c)
			for i := range rv {
				rv[i] = 0.5 + rng.Float32()
			}
			y, mean, inv, nrm, nrv := bnRef(x, gamma, beta, rm, rv, b, c, ss)
			xb, gb, bb := upload(t, dev, x), upload(t, dev, gamma), upload(t, dev, beta)
			rmb, rvb := upload(t, dev, rm), upload(t, dev, rv)
			mb, ib, yb := zeros(t, dev, c), zeros(t, dev, c), zeros(t, dev, len(x))
			part := zeros(t, dev, 2*c*bnParts(b*ss))
			if err := o.bnStats(xb, mb, ib, rmb, rvb, part, b, c, ss, bnMomentum, bnEps); err != nil {
				t.Fatal(err)
			}
			if err := o.bnReLU(xb, yb, mb, ib, gb, bb, b, c, ss); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "mean", download(t, dev, mb, c), mean)
			checkClose(t, "invstd", download(t, dev, ib, c), inv)
			checkClose(t, "running mean", download(t, dev, rmb, c), nrm)
			checkClose(t, "running var", download(t, dev, rvb, c), nrv)
			checkClose(t, "y", download(t, dev, yb, len(x)), y)

			// eval mode with the updated running statistics
			ye := make([]float64, len(x))
			for i := range b {
				for ch := range c {
					for p := range ss {
						j := (i*c+ch)*ss + p
						v := float64(gamma[ch])*(float64(x[j])-nrm[ch])/math.Sqrt(nrv[ch]+bnEps) + float64(beta[ch])
						ye[j] = max(v, 0)
					}
				}
			}
			eb := zeros(t, dev, len(x))
			if err := o.bnReLUEval(xb, eb, rmb, rvb, gb, bb, bnEps, b, c, ss); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "eval y", download(t, dev, eb, len(x)), ye)

			// backward: dz = dy*[y>0]; dgamma = sum dz*h, dbeta = sum dz,
			// dx = gamma*inv*(dz - mean dz - h*mean(dz*h))
			dy := randSlice(rng, len(x))
			dg, dbt := make([]float64, c), make([]float64, c)
			dx := make([]float64, len(x))
			n := float64(b * ss)
			for ch := range c {
				for i := range b {
					for p := range ss {
						j := (i*c+ch)*ss + p
						if y[j] > 0 {
							h := (float64(x[j]) - mean[ch]) * inv[ch]
							dg[ch] += float64(dy[j]) * h
							dbt[ch] += float64(dy[j])
						}
					}
				}
				for i := range b {
					for p := range ss {
						j := (i*c+ch)*ss + p
						h := (float64(x[j]) - mean[ch]) * inv[ch]
						dz := 0.0
						if y[j] > 0 {
							dz = float64(dy[j])
						}
						dx[j] = float64(gamma[ch]) * inv[ch] * (dz - dbt[ch]/n - h*dg[ch]/n)
					}
				}
			}
			dyb, dxb := upload(t, dev, dy), zeros(t, dev, len(x))
			dgb, dbb, coef := zeros(t, dev, c), zeros(t, dev, c), zeros(t, dev, 3*c)
			if err := o.bnReLUBackward(xb, yb, dyb, dxb, mb, ib, gb, dgb, dbb, part, coef, b, c, ss); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "dgamma", download(t, dev, dgb, c), dg)
			checkClose(t, "dbeta", download(t, dev, dbb, c), dbt)
			checkClose(t, "dx", download(t, dev, dxb, len(x)), dx)
		})
	}
}

func testPool(t *testing.T, dev device.Device) {
	o := ops{dev}
	rng := rand.New(rand.NewPCG(6, 6))
	for _, tc := range []struct{ planes, s int }{{1, 2}, {3, 5}, {7, 8}, {2, 9}} {
		t.Run(fmt.Sprintf("p%d_s%d", tc.planes, tc.s), func(t *testing.T) {
			s, h := tc.s, tc.s/2
			x := randSlice(rng, tc.planes*s*s)
			x[0] = x[1] // a tie: the first in scan order wins
			y := make([]float64, tc.planes*h*h)
			arg := make([]int, len(y))
			for pl := range tc.planes {
				for oy := range h {
					for ox := range h {
						best := -1
						for d := range 4 {
							at := (2*oy+d/2)*s + 2*ox + d%2
							if best < 0 || x[pl*s*s+at] > x[pl*s*s+best] {
								best = at
							}
						}
						o := (pl*h+oy)*h + ox
						y[o], arg[o] = float64(x[pl*s*s+best]), best
					}
				}
			}
			dy := randSlice(rng, len(y))
			dx := make([]float64, len(x))
			for o, a := range arg {
				dx[(o/(h*h))*s*s+a] = float64(dy[o])
			}
			xb, yb, ab := upload(t, dev, x), zeros(t, dev, len(y)), zeros(t, dev, len(y))
			if err := o.poolFwd(xb, yb, ab, tc.planes, s); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "y", download(t, dev, yb, len(y)), y)
			dyb, dxb := upload(t, dev, dy), upload(t, dev, randSlice(rng, len(x)))
			if err := o.poolBwd(dyb, ab, dxb, tc.planes, s); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "dx", download(t, dev, dxb, len(x)), dx)
		})
	}
}

// testElementwise covers the fc and optimiser kernels: bias (with
// and without ReLU), ReLU and its gradient, column sums, SGD, fill.
func testElementwise(t *testing.T, dev device.Device) {
	o := ops{dev}
	rng := rand.New(rand.NewPCG(7, 7))
	for _, tc := range []struct{ rows, cols int }{{1, 1}, {3, 7}, {5, 300}} {
		t.Run(fmt.Sprintf("%dx%d", tc.rows, tc.cols), func(t *testing.T) {
			n := tc.rows * tc.cols
			y, bias := randSlice(rng, n), randSlice(rng, tc.cols)
			for _, relu := range []bool{false, true} {
				want := make([]float64, n)
				for i := range want {
					want[i] = float64(y[i] + bias[i%tc.cols])
					if relu {
						want[i] = max(want[i], 0)
					}
				}
				yb := upload(t, dev, y)
				if err := o.biasAct(yb, upload(t, dev, bias), tc.rows, tc.cols, relu); err != nil {
					t.Fatal(err)
				}
				checkClose(t, fmt.Sprintf("bias relu=%v", relu), download(t, dev, yb, n), want)
			}
			xb, rb := upload(t, dev, y), zeros(t, dev, n)
			if err := o.relu(xb, rb, n); err != nil {
				t.Fatal(err)
			}
			dy := randSlice(rng, n)
			wantR, wantD := make([]float64, n), make([]float64, n)
			for i, v := range y {
				wantR[i] = max(float64(v), 0)
				if v > 0 {
					wantD[i] = float64(dy[i])
				}
			}
			checkClose(t, "relu", download(t, dev, rb, n), wantR)
			db := zeros(t, dev, n)
			if err := o.reluBwd(xb, upload(t, dev, dy), db, n); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "relu grad", download(t, dev, db, n), wantD)
			cs := make([]float64, tc.cols)
			for i, v := range dy {
				cs[i%tc.cols] += float64(v)
			}
			csb := zeros(t, dev, tc.cols)
			if err := o.colSum(upload(t, dev, dy), tc.rows, tc.cols, csb); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "column sums", download(t, dev, csb, tc.cols), cs)
			// SGD, PyTorch's: g += wd*w; buf = mom*buf + g; w -= lr*buf
			w, g, buf := randSlice(rng, n), randSlice(rng, n), randSlice(rng, n)
			const lr, mom, wd = 0.1, 0.9, 0.01
			ww, wb := make([]float64, n), make([]float64, n)
			for i := range w {
				gi := float64(g[i]) + wd*float64(w[i])
				wb[i] = mom*float64(buf[i]) + gi
				ww[i] = float64(w[i]) - lr*wb[i]
			}
			wB, bB := upload(t, dev, w), upload(t, dev, buf)
			if err := o.sgd(wB, upload(t, dev, g), bB, n, upload(t, dev, []float32{lr}), mom, wd); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "sgd weights", download(t, dev, wB, n), ww)
			checkClose(t, "sgd momentum", download(t, dev, bB, n), wb)
			if err := o.fill(wB, n, 2.5); err != nil {
				t.Fatal(err)
			}
			twos := make([]float64, n)
			for i := range twos {
				twos[i] = 2.5
			}
			checkClose(t, "fill", download(t, dev, wB, n), twos)
		})
	}
}

// testHeads covers the loss side: softmax cross-entropy (loss, hit,
// gradient) and the sub-heads' forward, input and weight gradients.
func testHeads(t *testing.T, dev device.Device) {
	o := ops{dev}
	rng := rand.New(rand.NewPCG(8, 8))
	for _, tc := range []struct{ b, s, h, k int }{{1, 1, 3, 2}, {3, 4, 5, 3}, {9, 7, 70, 11}} {
		t.Run(fmt.Sprintf("b%d_s%d_h%d_k%d", tc.b, tc.s, tc.h, tc.k), func(t *testing.T) {
			B, S, H, K := tc.b, tc.s, tc.h, tc.k
			hr := randSlice(rng, B*H)
			w, wbias := randSlice(rng, S*H*K), randSlice(rng, S*K)
			super, target := make([]int32, B), make([]int32, B)
			for i := range B {
				super[i], target[i] = int32(rng.IntN(S)), int32(rng.IntN(K))
			}
			logits := make([]float64, B*K)
			for i := range B {
				s := int(super[i])
				for k := range K {
					acc := float64(wbias[s*K+k])
					for j := range H {
						acc += float64(hr[i*H+j]) * float64(w[s*H*K+j*K+k])
					}
					logits[i*K+k] = acc
				}
			}
			hb, wb, wbb := upload(t, dev, hr), upload(t, dev, w), upload(t, dev, wbias)
			sb, tb := uploadI(t, dev, super), uploadI(t, dev, target)
			lb := zeros(t, dev, B*K)
			if err := o.subheadFwd(hb, wb, wbb, sb, lb, B, H, K); err != nil {
				t.Fatal(err)
			}
			gotLogits := download(t, dev, lb, B*K)
			checkClose(t, "sub-head logits", gotLogits, logits)

			// softmax cross-entropy of the device's logits
			loss, dl := make([]float64, B), make([]float64, B*K)
			hits := make([]int32, B)
			for i := range B {
				row := gotLogits[i*K : (i+1)*K]
				mx, arg := float64(row[0]), 0
				for j, v := range row {
					if float64(v) > mx {
						mx, arg = float64(v), j
					}
				}
				var s float64
				for _, v := range row {
					s += math.Exp(float64(v) - mx)
				}
				loss[i] = mx + math.Log(s) - float64(row[target[i]])
				if arg == int(target[i]) {
					hits[i] = 1
				}
				for j, v := range row {
					p := math.Exp(float64(v)-mx) / s
					if j == int(target[i]) {
						p--
					}
					dl[i*K+j] = p / float64(B)
				}
			}
			dlb, lossb, hitb := zeros(t, dev, B*K), zeros(t, dev, B), zeros(t, dev, B)
			if err := o.softmaxXent(lb, tb, dlb, lossb, hitb, B, K, 1/float32(B)); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "loss", download(t, dev, lossb, B), loss)
			checkClose(t, "dlogits", download(t, dev, dlb, B*K), dl)
			gotHits := downloadI(t, dev, hitb, B)
			for i := range hits {
				if gotHits[i] != hits[i] {
					t.Fatalf("sample %d: hit %d, want %d", i, gotHits[i], hits[i])
				}
			}
			// gradients from dl (the device's)
			dlv := download(t, dev, dlb, B*K)
			dh := make([]float64, B*H)
			base := randSlice(rng, B*H)
			dw, dwb := make([]float64, S*H*K), make([]float64, S*K)
			for i := range B {
				s := int(super[i])
				for j := range H {
					for k := range K {
						dh[i*H+j] += float64(w[s*H*K+j*K+k]) * float64(dlv[i*K+k])
						dw[s*H*K+j*K+k] += float64(hr[i*H+j]) * float64(dlv[i*K+k])
					}
				}
				for k := range K {
					dwb[s*K+k] += float64(dlv[i*K+k])
				}
			}
			for _, accumulate := range []bool{false, true} {
				want := make([]float64, len(dh))
				for i := range dh {
					want[i] = dh[i]
					if accumulate {
						want[i] += float64(base[i])
					}
				}
				dhb := upload(t, dev, base)
				if err := o.subheadDH(dlb, wb, sb, dhb, B, H, K, accumulate); err != nil {
					t.Fatal(err)
				}
				checkClose(t, fmt.Sprintf("dh accumulate=%v", accumulate), download(t, dev, dhb, B*H), want)
			}
			dwB, dwbB := upload(t, dev, randSlice(rng, S*H*K)), upload(t, dev, randSlice(rng, S*K))
			start, order := deepercluster.GroupByLabel(super, S, nil, nil)
			if err := o.subheadDW(hb, dlb, uploadI(t, dev, order), uploadI(t, dev, start), dwB, dwbB, S, H, K); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "dW", download(t, dev, dwB, S*H*K), dw)
			checkClose(t, "dWb", download(t, dev, dwbB, S*K), dwb)
		})
	}
}

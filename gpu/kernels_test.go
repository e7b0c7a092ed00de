package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepercluster/deepercluster/gpu/device"
)

// These tests run every kernel on the OpenCL device (PoCL in CI) against a
// plain float64 Go reference, at odd shapes: batches of 1 and 3, sizes that
// are not multiples of the 64-wide tile.

const kernelTol = 1e-3

func upload(t *testing.T, dev device.Device, v []float32) device.Buffer {
	t.Helper()
	b, err := dev.Alloc(4 * max(len(v), 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := dev.WriteF32(b, 0, v); err != nil {
		t.Fatal(err)
	}
	return b
}

func uploadI(t *testing.T, dev device.Device, v []int32) device.Buffer {
	t.Helper()
	b, err := dev.Alloc(4 * max(len(v), 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := dev.WriteI32(b, 0, v); err != nil {
		t.Fatal(err)
	}
	return b
}

func zeros(t *testing.T, dev device.Device, n int) device.Buffer {
	return upload(t, dev, make([]float32, n))
}

func download(t *testing.T, dev device.Device, b device.Buffer, n int) []float32 {
	t.Helper()
	if err := dev.Finish(); err != nil {
		t.Fatal(err)
	}
	v := make([]float32, n)
	if err := dev.ReadF32(b, 0, v); err != nil {
		t.Fatal(err)
	}
	return v
}

func downloadI(t *testing.T, dev device.Device, b device.Buffer, n int) []int32 {
	t.Helper()
	if err := dev.Finish(); err != nil {
		t.Fatal(err)
	}
	v := make([]int32, n)
	if err := dev.ReadI32(b, 0, v); err != nil {
		t.Fatal(err)
	}
	return v
}

func randSlice(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// relErr is max|got-want| / max(max|want|, tiny): an error relative to
// the tensor's scale, so that values near 0 do not dominate.
func relErr(got []float32, want []float64) float64 {
	var scale, diff float64
	for i, w := range want {
		scale = max(scale, math.Abs(w))
		diff = max(diff, math.Abs(float64(got[i])-w))
	}
	return diff / max(scale, 1e-12)
}

func checkClose(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i, g := range got {
		if math.IsNaN(float64(g)) {
			t.Fatalf("%s: NaN at %d", what, i)
		}
	}
	if e := relErr(got, want); e > kernelTol {
		t.Errorf("%s: relative error %.3g > %g", what, e, kernelTol)
	}
}

func testGemm(t *testing.T, dev device.Device) {
	o := ops{dev}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		m, n, k        int
		ta, tb         bool
		alpha, beta    float32
		offA, offB, oc int
	}{
		{1, 1, 1, false, false, 1, 0, 0, 0, 0},
		{3, 70, 17, false, false, 1, 0, 0, 0, 0},
		{65, 5, 130, true, false, 0.5, 0, 3, 0, 0},
		{33, 67, 19, false, true, 1, 1, 0, 7, 2},
		{17, 9, 66, true, true, -1, 0.25, 1, 1, 5},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d_t%v%v", tc.m, tc.n, tc.k, tc.ta, tc.tb), func(t *testing.T) {
			a := randSlice(rng, tc.offA+tc.m*tc.k)
			b := randSlice(rng, tc.offB+tc.k*tc.n)
			c := randSlice(rng, tc.oc+tc.m*tc.n)
			lda, ldb := tc.k, tc.n
			if tc.ta {
				lda = tc.m
			}
			if tc.tb {
				ldb = tc.k
			}
			at := func(i, k int) float64 {
				if tc.ta {
					return float64(a[tc.offA+k*lda+i])
				}
				return float64(a[tc.offA+i*lda+k])
			}
			bt := func(k, j int) float64 {
				if tc.tb {
					return float64(b[tc.offB+j*ldb+k])
				}
				return float64(b[tc.offB+k*ldb+j])
			}
			want := make([]float64, tc.oc+tc.m*tc.n)
			for i := range want {
				want[i] = float64(c[i])
			}
			for i := range tc.m {
				for j := range tc.n {
					var s float64
					for k := range tc.k {
						s += at(i, k) * bt(k, j)
					}
					want[tc.oc+i*tc.n+j] = float64(tc.alpha)*s + float64(tc.beta)*float64(c[tc.oc+i*tc.n+j])
				}
			}
			ab, bb, cb := upload(t, dev, a), upload(t, dev, b), upload(t, dev, c)
			if err := o.gemm(tc.ta, tc.tb, tc.m, tc.n, tc.k, tc.alpha, ab, tc.offA, lda, bb, tc.offB, ldb, tc.beta, cb, tc.oc, tc.n); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "C", download(t, dev, cb, len(c)), want)
		})
	}
}

// convRef is the 3x3 pad-1 convolution of NCHW x with OIHW w in float64.
func convRef(x, w []float32, b, cin, cout, s int) []float64 {
	y := make([]float64, b*cout*s*s)
	for n := range b {
		for co := range cout {
			for py := range s {
				for px := range s {
					var acc float64
					for ci := range cin {
						for ky := range 3 {
							for kx := range 3 {
								iy, ix := py+ky-1, px+kx-1
								if iy < 0 || iy >= s || ix < 0 || ix >= s {
									continue
								}
								acc += float64(w[((co*cin+ci)*3+ky)*3+kx]) * float64(x[((n*cin+ci)*s+iy)*s+ix])
							}
						}
					}
					y[((n*cout+co)*s+py)*s+px] = acc
				}
			}
		}
	}
	return y
}

func testConv(t *testing.T, dev device.Device) {
	o := ops{dev}
	rng := rand.New(rand.NewPCG(2, 1))
	for _, tc := range []struct{ b, cin, cout, s int }{
		{1, 3, 4, 5},
		{3, 2, 5, 7},
		{2, 5, 3, 8},
		{3, 4, 70, 3},
		{2, 40, 5, 6}, // the input gradient in the 64-row tile
		{70, 3, 2, 8}, // the weight gradient in two pixel slices
	} {
		t.Run(fmt.Sprintf("b%d_%dto%d_s%d", tc.b, tc.cin, tc.cout, tc.s), func(t *testing.T) {
			x := randSlice(rng, tc.b*tc.cin*tc.s*tc.s)
			w := randSlice(rng, tc.cout*tc.cin*9)
			dy := randSlice(rng, tc.b*tc.cout*tc.s*tc.s)
			// forward
			xb, wb, dyb := upload(t, dev, x), upload(t, dev, w), upload(t, dev, dy)
			yb := zeros(t, dev, len(dy))
			if err := o.convFwd(xb, wb, yb, tc.b, tc.cin, tc.cout, tc.s); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "y", download(t, dev, yb, len(dy)), convRef(x, w, tc.b, tc.cin, tc.cout, tc.s))
			// input gradient: <conv(x), dy> is linear in x, so dx[i] is
			// the convolution's adjoint; reference by brute force.
			wantDX := make([]float64, len(x))
			wantDW := make([]float64, len(w))
			s := tc.s
			for n := range tc.b {
				for co := range tc.cout {
					for py := range s {
						for px := range s {
							g := float64(dy[((n*tc.cout+co)*s+py)*s+px])
							for ci := range tc.cin {
								for ky := range 3 {
									for kx := range 3 {
										iy, ix := py+ky-1, px+kx-1
										if iy < 0 || iy >= s || ix < 0 || ix >= s {
											continue
										}
										xi := ((n*tc.cin+ci)*s+iy)*s + ix
										wi := ((co*tc.cin+ci)*3+ky)*3 + kx
										wantDX[xi] += g * float64(w[wi])
										wantDW[wi] += g * float64(x[xi])
									}
								}
							}
						}
					}
				}
			}
			dxb := zeros(t, dev, len(x))
			if err := o.convDX(dyb, wb, dxb, tc.b, tc.cin, tc.cout, tc.s); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "dx", download(t, dev, dxb, len(x)), wantDX)
			dwb := zeros(t, dev, len(w))
			var part device.Buffer
			if n := convDWScratch(tc.b, tc.cin, tc.cout, tc.s); n > 0 {
				part = zeros(t, dev, n)
			}
			if err := o.convDW(xb, dyb, dwb, part, tc.b, tc.cin, tc.cout, tc.s); err != nil {
				t.Fatal(err)
			}
			checkClose(t, "dw", download(t, dev, dwb, len(w)), wantDW)
		})
	}
}

package device

import (
	"math"
	"math/rand/v2"
	"testing"
)

// This file holds the self-test kernels' checks (gpu/kernels/selftest.cl)
// against Go, shared by the OpenCL and CUDA tests so both devices run the
// very same cases.

func alloc(t *testing.T, d Device, n int) Buffer {
	t.Helper()
	b, err := d.Alloc(4 * n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Free(b) })
	return b
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func blocks(n, bs int) int { return (n + bs - 1) / bs }

func randF32(r *rand.Rand, n int, lo, hi float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = lo + (hi-lo)*r.Float32()
	}
	return x
}

func relErr(got, want float64) float64 {
	if got == want {
		return 0
	}
	return math.Abs(got-want) / math.Max(math.Abs(want), 1e-30)
}

// runSelfTests runs every self-test kernel on d at odd sizes.
func runSelfTests(t *testing.T, d Device) {
	r := rand.New(rand.NewPCG(1, 2))
	t.Run("fill", func(t *testing.T) {
		for _, tc := range []struct{ n, off, block int }{{1, 0, 64}, {3, 5, 64}, {1001, 7, 128}} {
			const guard = float32(-7)
			total := tc.off + tc.n + 3
			b := alloc(t, d, total)
			init := make([]float32, total)
			for i := range init {
				init[i] = guard
			}
			must(t, d.WriteF32(b, 0, init))
			must(t, d.Launch("selftest_fill", Dim{blocks(tc.n, tc.block)}, Dim{tc.block}, b, int32(tc.off), int32(tc.n), float32(2.5)))
			got := make([]float32, total)
			must(t, d.ReadF32(b, 0, got))
			for i, v := range got {
				want := guard
				if i >= tc.off && i < tc.off+tc.n {
					want = 2.5
				}
				if v != want {
					t.Fatalf("n=%d off=%d: x[%d] = %g, want %g", tc.n, tc.off, i, v, want)
				}
			}
		}
	})
	t.Run("axpy", func(t *testing.T) {
		for _, n := range []int{1, 3, 777} {
			x := randF32(r, n+2, -1, 1)
			y := randF32(r, n+5, -1, 1)
			bx, by := alloc(t, d, len(x)), alloc(t, d, len(y))
			must(t, d.WriteF32(bx, 0, x))
			must(t, d.WriteF32(by, 0, y))
			a := float32(-1.75)
			must(t, d.Launch("selftest_axpy", Dim{blocks(n, 64)}, Dim{64}, int32(n), a, bx, int32(2), by, int32(5)))
			got := make([]float32, len(y))
			must(t, d.ReadF32(by, 0, got))
			for i := range got {
				want := float64(y[i])
				if i >= 5 {
					want = math.FMA(float64(a), float64(x[i-5+2]), float64(y[i]))
				}
				if relErr(float64(got[i]), want) > 1e-6 && math.Abs(float64(got[i])-want) > 1e-7 {
					t.Fatalf("n=%d: y[%d] = %g, want %g", n, i, got[i], want)
				}
			}
		}
	})
	t.Run("iota2d", func(t *testing.T) {
		for _, tc := range []struct{ w, h, bx, by int }{{1, 1, 8, 4}, {37, 5, 8, 4}, {5, 37, 4, 16}} {
			out := alloc(t, d, tc.w*tc.h)
			must(t, d.WriteI32(out, 0, make([]int32, tc.w*tc.h)))
			must(t, d.Launch("selftest_iota2d", Dim{blocks(tc.w, tc.bx), blocks(tc.h, tc.by)}, Dim{tc.bx, tc.by}, out, int32(tc.w), int32(tc.h)))
			got := make([]int32, tc.w*tc.h)
			must(t, d.ReadI32(out, 0, got))
			for i, v := range got {
				if want := int32(i/tc.w*1000 + i%tc.w); v != want {
					t.Fatalf("%dx%d: out[%d] = %d, want %d", tc.w, tc.h, i, v, want)
				}
			}
		}
	})
	t.Run("block_sum", func(t *testing.T) {
		for _, tc := range []struct{ n, block, grid int }{{1, 64, 1}, {1000, 256, 3}, {4099, 64, 7}} {
			x := randF32(r, tc.n+1, -1, 1)
			bx, bp := alloc(t, d, len(x)), alloc(t, d, tc.grid)
			must(t, d.WriteF32(bx, 0, x))
			var runs [2][]float32
			for k := range runs {
				must(t, d.Launch("selftest_block_sum", Dim{tc.grid}, Dim{tc.block}, bx, int32(1), int32(tc.n), bp))
				runs[k] = make([]float32, tc.grid)
				must(t, d.ReadF32(bp, 0, runs[k]))
			}
			var got, want, abs float64
			for g, p := range runs[0] {
				if math.Float32bits(p) != math.Float32bits(runs[1][g]) {
					t.Fatalf("n=%d: partial %d differs between two runs (%g, %g): not deterministic", tc.n, g, p, runs[1][g])
				}
				got += float64(p)
			}
			for _, v := range x[1:] {
				want += float64(v)
				abs += math.Abs(float64(v))
			}
			if math.Abs(got-want) > 1e-6*abs+1e-6 {
				t.Fatalf("n=%d block=%d grid=%d: sum %g, want %g", tc.n, tc.block, tc.grid, got, want)
			}
		}
	})
	t.Run("math", func(t *testing.T) {
		x := randF32(r, 999, -20, 5)
		x = append(x, 0, -87, 88, 1, -1, 1e-3)
		n := len(x)
		bx := alloc(t, d, n)
		out := [4]Buffer{alloc(t, d, n), alloc(t, d, n), alloc(t, d, n), alloc(t, d, n)}
		must(t, d.WriteF32(bx, 0, x))
		must(t, d.Launch("selftest_math", Dim{blocks(n, 128)}, Dim{128}, bx, int32(n), out[0], out[1], out[2], out[3]))
		var got [4][]float32
		for k := range got {
			got[k] = make([]float32, n)
			must(t, d.ReadF32(out[k], 0, got[k]))
		}
		var worstExp, worstLog float64
		for i, v := range x {
			a := math.Abs(float64(v))
			worstExp = max(worstExp, relErr(float64(got[0][i]), math.Exp(float64(v))))
			// log near 1 goes to 0: its error is absolute there, relative
			// for |log| > 1 (float32 rounding of -69 alone is 4e-6).
			wantLog := math.Log(float64(float32(a + 1e-30)))
			worstLog = max(worstLog, math.Abs(float64(got[1][i])-wantLog)/math.Max(1, math.Abs(wantLog)))
			if want := float32(math.Max(float64(v), 0)); got[2][i] != want {
				t.Errorf("fmax(%g, 0) = %g", v, got[2][i])
			}
			// OpenCL 1.2 allows sqrt 3 ulp (CUDA's sqrt.rn and PoCL round
			// correctly).
			if want := float32(math.Sqrt(a)); relErr(float64(got[3][i]), float64(want)) > 4e-7 {
				t.Errorf("sqrt(%g) = %g, want %g", a, got[3][i], want)
			}
		}
		t.Logf("%s: exp worst relative error %.3g, log worst error %.3g (absolute below |log| = 1, relative above)", d.Kind(), worstExp, worstLog)
		if worstExp > 1e-6 {
			t.Errorf("exp: worst relative error %.3g > 1e-6", worstExp)
		}
		if worstLog > 1e-6 {
			t.Errorf("log: worst error %.3g > 1e-6", worstLog)
		}
	})
}

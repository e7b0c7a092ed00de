package trainer

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAugmentStrong checks the strong augmentation's geometry and jitter
// on images whose pixels say where they came from.
func TestAugmentStrong(t *testing.T) {
	tests := []struct {
		name string
		res  int
	}{{"28 px", 28}, {"16 px", 16}, {"32 px", 32}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.res
			// A horizontal ramp: grey = 8*x (+ 20), the same on every row.
			ramp := make([]byte, res*res*3)
			for y := range res {
				for x := range res {
					for c := range 3 {
						ramp[(y*res+x)*3+c] = byte(20 + 200*x/(res-1))
					}
				}
			}
			flat := make([]byte, res*res*3)
			for i := range flat {
				flat[i] = 100
			}
			dst := make([]byte, res*res*3)
			rng := rand.New(rand.NewPCG(1, uint64(res)))
			const draws = 400
			flips, zoomed := 0, 0
			lo, hi := 255.0, 0.0
			for range draws {
				// A flat image stays flat: contrast keeps it, brightness
				// scales it within the jitter.
				augmentStrong(dst, flat, res, rng, true)
				v := float64(dst[0])
				for i, b := range dst {
					if b != dst[0] {
						t.Fatalf("flat image: pixel %d is %d, pixel 0 %d", i, b, dst[0])
					}
				}
				if v < 100*(1-strongJitter)-1 || v > 100*(1+strongJitter)+1 {
					t.Fatalf("flat 100 became %v: outside the brightness jitter", v)
				}
				lo, hi = min(lo, v), max(hi, v)
				// A ramp stays a ramp (monotone along each row, the same on
				// every row), rising or, flipped, falling.
				augmentStrong(dst, ramp, res, rng, true)
				first, last := int(dst[0]), int(dst[(res-1)*3])
				if first > last {
					flips++
				}
				for y := range res {
					for x := 1; x < res; x++ {
						a, b := int(dst[(y*res+x-1)*3]), int(dst[(y*res+x)*3])
						if (first <= last && b < a) || (first > last && b > a) {
							t.Fatalf("row %d not monotone at x=%d: %d then %d", y, x, a, b)
						}
						if dst[(y*res+x)*3] != dst[(y*res+x)*3+2] {
							t.Fatalf("grey became colour at (%d,%d)", x, y)
						}
					}
				}
				if first == last {
					t.Fatalf("the crop kept no horizontal extent")
				}
				// A crop narrower than the image repeats source columns.
				distinct := map[byte]bool{}
				for x := range res {
					distinct[dst[x*3]] = true
				}
				if len(distinct) < res {
					zoomed++
				}
			}
			if flips < draws/4 || flips > 3*draws/4 {
				t.Errorf("%d flips in %d draws, want about half", flips, draws)
			}
			if zoomed < draws/4 {
				t.Errorf("%d of %d crops zoomed in, want most", zoomed, draws)
			}
			if lo > 100*(1-strongJitter/2) || hi < 100*(1+strongJitter/2) {
				t.Errorf("brightness of a flat 100 ranged %v..%v over %d draws: the jitter is not used", lo, hi, draws)
			}
		})
	}
}

// TestSamplerStrong checks that the sampler uses the strong augmentation
// only when asked, and that a run's default is the plain one.
func TestSamplerStrong(t *testing.T) {
	res := 28
	src := make([]byte, res*res*3)
	for i := range src {
		src[i] = 100
	}
	tests := []struct {
		name              string
		augmented, strong bool
		wantFlat100       bool // the plain shift keeps the inside of a flat image at 100
	}{
		{"plain", true, false, true},
		{"strong", true, true, false},
		{"none", false, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSampler(res, tc.augmented, tc.strong, true)
			rng := rand.New(rand.NewPCG(3, 4))
			dst := make([]float32, 3*res*res)
			changed := false
			for range 20 {
				s.sample(dst, src, 0, rng)
				centre := dst[res*res/2+res/2]
				if want := 100.0/(255*0.25) - 2; math.Abs(float64(centre)-want) > 1e-5 {
					changed = true
				}
			}
			if changed == tc.wantFlat100 {
				t.Errorf("centre pixel changed by the augmentation: %v, want %v", changed, !tc.wantFlat100)
			}
		})
	}
	if (Config{}).StrongAugment {
		t.Error("StrongAugment on by default")
	}
}

// TestSamplerNoFlip checks Config.NoFlip: with flips off neither
// augmentation mirrors a horizontal ramp, and the other draws (shift, crop,
// jitter) stay those of a run with flips, so only the flip differs.
func TestSamplerNoFlip(t *testing.T) {
	res := 28
	ramp := make([]byte, res*res*3)
	for y := range res {
		for x := range res {
			for c := range 3 {
				ramp[(y*res+x)*3+c] = byte(20 + 200*x/(res-1))
			}
		}
	}
	// falling reports whether the middle row of a sample falls from left
	// to right over its inside (the shift's black border aside).
	falling := func(dst []float32) bool {
		row := dst[(res/2)*res : (res/2+1)*res]
		return row[res/4] > row[3*res/4]
	}
	for _, strong := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "strong"}[strong], func(t *testing.T) {
			withFlip, noFlip := newSampler(res, true, strong, true), newSampler(res, true, strong, false)
			rngA, rngB := rand.New(rand.NewPCG(5, 6)), rand.New(rand.NewPCG(5, 6))
			a, b := make([]float32, 3*res*res), make([]float32, 3*res*res)
			flipped, same := 0, 0
			const draws = 200
			for range draws {
				withFlip.sample(a, ramp, 0, rngA)
				noFlip.sample(b, ramp, 0, rngB)
				if falling(b) {
					t.Fatal("--no-flip sampler mirrored the ramp")
				}
				if falling(a) {
					flipped++
					continue
				}
				// Not flipped: the same draws give the same image.
				for i := range a {
					if a[i] != b[i] {
						t.Fatalf("unflipped draw differs at %d: %v against %v", i, a[i], b[i])
					}
				}
				same++
			}
			if flipped < draws/4 || same < draws/4 {
				t.Errorf("with flips: %d of %d mirrored, want about half", flipped, draws)
			}
		})
	}
	if (Config{}).NoFlip {
		t.Error("NoFlip on by default")
	}
}

package synthetic

import (
	"math"
	"math/rand/v2"
	"testing"
)

// rawPixels renders n images of s as float vectors in [0, 1].
func rawPixels(t *testing.T, s *Dataset, n int) ([][]float64, []int) {
	t.Helper()
	res := s.Resolution()
	img := make([]byte, res*res*3)
	xs, ys := make([][]float64, n), make([]int, n)
	for i := 0; i < n; i++ {
		if err := s.Image(i, img); err != nil {
			t.Fatal(err)
		}
		x := make([]float64, len(img))
		for k, v := range img {
			x[k] = float64(v) / 255
		}
		xs[i] = x
		ys[i], _ = s.Label(i)
	}
	return xs, ys
}

func sqDist(a, b []float64) float64 {
	d := 0.0
	for k := range a {
		e := a[k] - b[k]
		d += e * e
	}
	return d
}

// kmeans is a plain Lloyd k-means with k-means++ seeding, enough to tell
// whether raw pixels already separate the concepts.
func kmeans(xs [][]float64, k, iters int, r *rand.Rand) []int {
	dim := len(xs[0])
	cent := [][]float64{append([]float64(nil), xs[r.IntN(len(xs))]...)}
	d2 := make([]float64, len(xs))
	for i := range d2 {
		d2[i] = math.Inf(1)
	}
	for len(cent) < k {
		total := 0.0
		last := cent[len(cent)-1]
		for i, x := range xs {
			d2[i] = min(d2[i], sqDist(x, last))
			total += d2[i]
		}
		u := r.Float64() * total
		pickIdx := len(xs) - 1
		for i := range xs {
			if u -= d2[i]; u <= 0 {
				pickIdx = i
				break
			}
		}
		cent = append(cent, append([]float64(nil), xs[pickIdx]...))
	}
	assign := make([]int, len(xs))
	for it := 0; it < iters; it++ {
		for i, x := range xs {
			best, bd := 0, math.Inf(1)
			for c := range cent {
				if d := sqDist(x, cent[c]); d < bd {
					best, bd = c, d
				}
			}
			assign[i] = best
		}
		sums, counts := make([][]float64, k), make([]int, k)
		for c := range sums {
			sums[c] = make([]float64, dim)
		}
		for i, x := range xs {
			counts[assign[i]]++
			for j, v := range x {
				sums[assign[i]][j] += v
			}
		}
		for c := range cent {
			if counts[c] == 0 {
				continue
			}
			for j := range cent[c] {
				cent[c][j] = sums[c][j] / float64(counts[c])
			}
		}
	}
	return assign
}

// TestSyntheticStructure checks that concepts are visually distinct (the
// class means of raw pixels already classify held-out images far above
// chance) without being trivial (k-means on raw pixels, where this project
// starts, is far from recovering them).
func TestSyntheticStructure(t *testing.T) {
	s := mustSynthetic(t, Config{Seed: 11, N: 3000, Resolution: 16})
	xs, ys := rawPixels(t, s, s.Len())
	K := s.NumLabels()
	half := len(xs) / 2

	// Nearest class mean, fitted on the first half, tested on the second.
	means, counts := make([][]float64, K), make([]int, K)
	for c := range means {
		means[c] = make([]float64, len(xs[0]))
	}
	for i := 0; i < half; i++ {
		counts[ys[i]]++
		for j, v := range xs[i] {
			means[ys[i]][j] += v
		}
	}
	for c := range means {
		for j := range means[c] {
			means[c][j] /= max(1, float64(counts[c]))
		}
	}
	correct := 0
	for i := half; i < len(xs); i++ {
		best, bd := -1, math.Inf(1)
		for c := range means {
			if counts[c] == 0 {
				continue
			}
			if d := sqDist(xs[i], means[c]); d < bd {
				best, bd = c, d
			}
		}
		if best == ys[i] {
			correct++
		}
	}
	acc := float64(correct) / float64(len(xs)-half)

	assign := kmeans(xs, K, 10, rand.New(rand.NewPCG(1, 1)))
	score := nmi(ys, assign)
	t.Logf("raw pixels at 16 px: nearest class mean accuracy %.3f (chance about %.3f); k-means NMI %.3f", acc, 1/float64(K), score)
	if acc < 0.5 {
		t.Errorf("nearest class mean on raw pixels: accuracy %.3f, want >= 0.5: concepts are not visually distinct", acc)
	}
	if score < 0.2 || score > 0.8 {
		t.Errorf("k-means on raw pixels: NMI %.3f, want in [0.2, 0.8]: some structure, far from solved", score)
	}
}

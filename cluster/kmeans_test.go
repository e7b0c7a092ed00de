package cluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// blobs makes n points around c well separated centres in d dimensions and
// returns them with their true centre.
func blobs(seed uint64, n, d, c int, spread float64) ([]float32, []int32) {
	rng := rand.New(rand.NewPCG(seed, 7))
	centres := make([]float64, c*d)
	for i := range centres {
		centres[i] = rng.NormFloat64() * 10
	}
	x := make([]float32, n*d)
	lab := make([]int32, n)
	for i := 0; i < n; i++ {
		l := i % c
		lab[i] = int32(l)
		for j := 0; j < d; j++ {
			x[i*d+j] = float32(centres[l*d+j] + spread*rng.NormFloat64())
		}
	}
	return x, lab
}

func naiveNearest(x []float32, n, d int, cent []float32, k int) ([]int32, []float64) {
	assign := make([]int32, n)
	dist := make([]float64, n)
	for i := 0; i < n; i++ {
		best, bi := math.Inf(1), 0
		for c := 0; c < k; c++ {
			var s float64
			for j := 0; j < d; j++ {
				t := float64(x[i*d+j]) - float64(cent[c*d+j])
				s += t * t
			}
			if s < best {
				best, bi = s, c
			}
		}
		assign[i], dist[i] = int32(bi), best
	}
	return assign, dist
}

func exactDist(x []float32, i, d int, cent []float32, c int) float64 {
	var s float64
	for j := 0; j < d; j++ {
		t := float64(x[i*d+j]) - float64(cent[c*d+j])
		s += t * t
	}
	return s
}

// The fused product + argmin step agrees with exact nearest centroids: a
// different choice is allowed only for a near-tie.
func TestAssignMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, kr := range cpuKernels() {
		for _, sh := range [][3]int{{203, 37, 45}, {12, 1, 1}, {500, 64, 33}, {97, 300, 13}, {1000, 16, 100}} {
			n, d, k := sh[0], sh[1], sh[2]
			x, cent := randMat(rng, n*d), randMat(rng, k*d)
			es := newEStep(kr, n, d, k, 2)
			got := make([]int32, n)
			obj, err := es.assign(context.Background(), x, rowNorms(x, n, d), cent, got)
			if err != nil {
				t.Fatal(err)
			}
			want, wd := naiveNearest(x, n, d, cent, k)
			var wobj float64
			for i := range want {
				wobj += wd[i]
				if got[i] != want[i] {
					g := exactDist(x, i, d, cent, int(got[i]))
					if g-wd[i] > 1e-4*(1+wd[i]) {
						t.Fatalf("%s n=%d d=%d k=%d: row %d assigned %d (dist %v), nearest %d (dist %v)", kr.name, n, d, k, i, got[i], g, want[i], wd[i])
					}
				}
			}
			if math.Abs(obj-wobj) > 1e-4*wobj {
				t.Fatalf("%s: objective %v, exact %v", kr.name, obj, wobj)
			}
		}
	}
}

// naiveLloyd is the reference k-means: float64, no splitting.
func naiveLloyd(x []float32, n, d int, init []float32, k, iters int) ([]int32, []float32) {
	cent := slices.Clone(init)
	var assign []int32
	for range iters {
		assign, _ = naiveNearest(x, n, d, cent, k)
		sum := make([]float64, k*d)
		cnt := make([]int, k)
		for i, c := range assign {
			cnt[c]++
			for j := 0; j < d; j++ {
				sum[int(c)*d+j] += float64(x[i*d+j])
			}
		}
		for c := 0; c < k; c++ {
			for j := 0; j < d; j++ {
				cent[c*d+j] = float32(sum[c*d+j] / float64(cnt[c]))
			}
		}
	}
	return assign, cent
}

func TestLloydMatchesNaive(t *testing.T) {
	const n, d, k = 900, 24, 9
	x, _ := blobs(11, n, d, k, 3)
	// Start from rows 0..k-1 (one per blob) perturbed, then a second start
	// with two rows of the same blob, which makes Lloyd move points around.
	for _, start := range [][]int{{0, 1, 2, 3, 4, 5, 6, 7, 8}, {0, 9, 1, 2, 3, 4, 5, 6, 7}} {
		init := make([]float32, k*d)
		for c, r := range start {
			copy(init[c*d:(c+1)*d], x[r*d:(r+1)*d])
		}
		wantA, wantC := naiveLloyd(x, n, d, init, k, 4)
		for _, kr := range cpuKernels() {
			res, err := kmeans(context.Background(), kr, x, n, d, KMeansOptions{K: k, Iters: 4, Seed: 1}, init)
			if err != nil {
				t.Fatal(err)
			}
			if res.Splits != 0 {
				t.Fatalf("%s: %d unexpected splits", kr.name, res.Splits)
			}
			if !slices.Equal(res.Assign, wantA) {
				t.Fatalf("%s: assignments differ from the reference", kr.name)
			}
			for i := range wantC {
				if math.Abs(float64(res.Centroids[i]-wantC[i])) > 1e-4*(1+math.Abs(float64(wantC[i]))) {
					t.Fatalf("%s: centroid value %d = %v, reference %v", kr.name, i, res.Centroids[i], wantC[i])
				}
			}
		}
	}
}

func TestKMeansFindsBlobs(t *testing.T) {
	const n, d, k = 2000, 8, 5
	x, lab := blobs(3, n, d, k, 1)
	for _, init := range []Init{InitRandom, InitPlusPlus} {
		var objs []float64
		res, err := KMeans(context.Background(), x, n, d, KMeansOptions{K: k, Iters: 15, Init: init, Seed: 2,
			OnIter: func(it int, obj float64) {
				if it != len(objs) {
					t.Errorf("OnIter got iteration %d, want %d", it, len(objs))
				}
				objs = append(objs, obj)
			}})
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != res.Iters || res.Iters != 15 {
			t.Fatalf("%v: %d OnIter calls, %d iterations", init, len(objs), res.Iters)
		}
		for i := 1; i < len(objs); i++ {
			if res.Splits == 0 && objs[i] > objs[i-1]*(1+1e-6) {
				t.Fatalf("%v: objective rose from %v to %v", init, objs[i-1], objs[i])
			}
		}
		if init == InitPlusPlus {
			if v := NMI(res.Assign, lab); v < 0.999 {
				t.Fatalf("k-means++ on separated blobs: NMI %v", v)
			}
		}
		total := 0
		for _, s := range res.Sizes {
			total += s
		}
		if total != n {
			t.Fatalf("sizes sum to %d, want %d", total, n)
		}
	}
}

func TestKMeansTolStopsEarly(t *testing.T) {
	x, _ := blobs(4, 600, 4, 3, 0.5)
	res, err := KMeans(context.Background(), x, 600, 4, KMeansOptions{K: 3, Iters: 100, Tol: 1e-9, Init: InitPlusPlus, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Iters >= 100 || res.Iters < 2 {
		t.Fatalf("ran %d iterations: want early stop after convergence, not before the second", res.Iters)
	}
}

func TestKMeansSplitsEmptyClusters(t *testing.T) {
	cases := []struct {
		name     string
		distinct int // distinct points, each repeated
		reps     int
		k        int
	}{
		{"duplicates", 10, 50, 40},
		{"all identical", 1, 100, 10},
		{"k equals n with duplicates", 3, 4, 12},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const d = 5
			rng := rand.New(rand.NewPCG(8, 8))
			base := randMat(rng, tc.distinct*d)
			n := tc.distinct * tc.reps
			x := make([]float32, n*d)
			for i := 0; i < n; i++ {
				copy(x[i*d:(i+1)*d], base[(i%tc.distinct)*d:])
			}
			res, err := KMeans(context.Background(), x, n, d, KMeansOptions{K: tc.k, Iters: 5, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			if res.Splits == 0 {
				t.Fatal("expected empty clusters to be split")
			}
			count := make([]int, tc.k)
			for _, c := range res.Assign {
				count[c]++
			}
			for c, s := range res.Sizes {
				if s == 0 || count[c] != s {
					t.Fatalf("cluster %d: size %d, %d rows assigned", c, s, count[c])
				}
			}
		})
	}
}

func TestKMeansDeterministic(t *testing.T) {
	const n, d, k = 3000, 16, 40
	x := randMat(rand.New(rand.NewPCG(1, 1)), n*d)
	run := func(seed uint64, threads int, init Init) *KMeansResult {
		res, err := KMeans(context.Background(), x, n, d, KMeansOptions{K: k, Iters: 6, Seed: seed, Threads: threads, Init: init})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for _, init := range []Init{InitRandom, InitPlusPlus} {
		a, b, c := run(7, 2, init), run(7, 1, init), run(8, 2, init)
		if !slices.Equal(a.Assign, b.Assign) || !slices.Equal(a.Centroids, b.Centroids) || a.Objective != b.Objective {
			t.Fatalf("%v: same seed gave different results with 1 and 2 threads", init)
		}
		if slices.Equal(a.Centroids, c.Centroids) {
			t.Fatalf("%v: different seeds gave the same centroids", init)
		}
	}
}

func TestKMeansErrors(t *testing.T) {
	good := randMat(rand.New(rand.NewPCG(1, 1)), 10*3)
	nan := slices.Clone(good)
	nan[7*3+1] = float32(math.NaN())
	inf := slices.Clone(good)
	inf[2*3] = float32(math.Inf(-1))
	cases := []struct {
		name    string
		x       []float32
		n, d, k int
		want    string
	}{
		{"k > n", good, 10, 3, 11, "11 clusters for 10 rows"},
		{"k < 1", good, 10, 3, 0, "k = 0"},
		{"no rows", nil, 0, 3, 1, "no rows"},
		{"short data", good, 11, 3, 2, "30 values for 11 rows"},
		{"NaN", nan, 10, 3, 2, "row 7, column 1 is NaN"},
		{"Inf", inf, 10, 3, 2, "row 2, column 0 is -Inf"},
	}
	for _, tc := range cases {
		_, err := KMeans(context.Background(), tc.x, tc.n, tc.d, KMeansOptions{K: tc.k})
		if err == nil || !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := KMeans(ctx, good, 10, 3, KMeansOptions{K: 2}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func BenchmarkKMeansIter(b *testing.B) {
	const n, d, k = 20000, 256, 1000
	x := randMat(rand.New(rand.NewPCG(1, 1)), n*d)
	b.ResetTimer()
	for range b.N {
		if _, err := KMeans(context.Background(), x, n, d, KMeansOptions{K: k, Iters: 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(2*n*k*d*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkLloydParts times the assignment and update steps apart, at the
// two shapes of the bench (n scaled down).
func BenchmarkLloydParts(b *testing.B) {
	for _, sh := range [][3]int{{30000, 256, 1000}, {60000, 128, 1000}} {
		n, d, k := sh[0], sh[1], sh[2]
		rng := rand.New(rand.NewPCG(1, 1))
		x, cent := randMat(rng, n*d), randMat(rng, k*d)
		xn := rowNorms(x, n, d)
		assign := make([]int32, n)
		es := newEStep(kernels, n, d, k, 0)
		b.Run(fmt.Sprintf("assign/d=%d", d), func(b *testing.B) {
			for range b.N {
				es.assign(context.Background(), x, xn, cent, assign)
			}
			b.ReportMetric(2*float64(n*d*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		ms := newMembers(n, k)
		b.Run(fmt.Sprintf("update/d=%d", d), func(b *testing.B) {
			for range b.N {
				ms.build(assign)
				ms.means(context.Background(), x, d, cent, 2)
			}
		})
	}
}

func TestSumRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, d := range []int{1, 7, 8, 24, 33, 64, 100, 257} {
		n := 50
		x := randMat(rng, n*d)
		rows := []int32{3, 0, 49, 7, 7, 12}
		got := make([]float64, d)
		for i := range got {
			got[i] = math.NaN() // must be overwritten
		}
		sumRows(got, x, d, rows)
		for j := 0; j < d; j++ {
			var want float64
			for _, i := range rows {
				want += float64(x[int(i)*d+j])
			}
			if math.Abs(got[j]-want) > 1e-9 {
				t.Fatalf("d=%d: sum[%d] = %v, want %v", d, j, got[j], want)
			}
		}
	}
}

func TestKMeansTiny(t *testing.T) {
	for _, tc := range []struct{ n, d, k int }{{1, 1, 1}, {2, 1, 2}, {3, 2, 2}, {13, 1, 13}, {40, 3, 33}} {
		x := randMat(rand.New(rand.NewPCG(uint64(tc.n), 1)), tc.n*tc.d)
		res, err := KMeans(context.Background(), x, tc.n, tc.d, KMeansOptions{K: tc.k, Iters: 3, Init: InitPlusPlus})
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		want, _ := naiveNearest(x, tc.n, tc.d, res.Centroids, tc.k)
		if tc.k == tc.n && !slices.Equal(res.Assign, want) {
			t.Fatalf("%+v: one cluster per row expected, got %v", tc, res.Assign)
		}
		for c, s := range res.Sizes {
			if s == 0 {
				t.Fatalf("%+v: cluster %d empty", tc, c)
			}
		}
	}
}

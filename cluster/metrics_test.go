package cluster

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepercluster/deepercluster"
)

// The expected values were computed once with scikit-learn 1.2.1 (Debian
// python3-sklearn) on this machine:
//
//	/usr/bin/python3 -c 'from sklearn.metrics import normalized_mutual_info_score as nmi, adjusted_rand_score as ari; print(repr(nmi(a, b)), repr(ari(a, b)))'
//
// with a and b the two labellings of each case.
var sklearnCases = []struct {
	name     string
	a, b     []int32
	nmi, ari float64
}{
	{"perm", []int32{0, 0, 1, 1, 2, 2}, []int32{1, 1, 0, 0, 5, 5}, 1.0, 1.0},
	{"mixed", []int32{0, 0, 0, 1, 1, 1, 2, 2, 2, 2}, []int32{0, 0, 1, 1, 1, 2, 2, 2, 0, 0}, 0.39464837163589433, 0.09090909090909091},
	{"single_vs_many", []int32{0, 0, 0, 0}, []int32{0, 1, 2, 3}, 0.0, 0.0},
	{"both_single", []int32{3, 3, 3}, []int32{7, 7, 7}, 1.0, 1.0},
	{"negative_labels", []int32{-5, -5, 100000, 100000, 7, 7, 7, -5}, []int32{1, 2, 1, 2, 1, 1, 2, 2}, 0.047849644967449874, -0.15384615384615385},
	{"long",
		// a[i] = (7i) mod 5, b[i] = (3i) mod 4 + (i mod 3 == 0), i < 40
		[]int32{0, 2, 4, 1, 3, 0, 2, 4, 1, 3, 0, 2, 4, 1, 3, 0, 2, 4, 1, 3, 0, 2, 4, 1, 3, 0, 2, 4, 1, 3, 0, 2, 4, 1, 3, 0, 2, 4, 1, 3},
		[]int32{1, 3, 2, 2, 0, 3, 3, 1, 0, 4, 2, 1, 1, 3, 2, 2, 0, 3, 3, 1, 0, 4, 2, 1, 1, 3, 2, 2, 0, 3, 3, 1, 0, 4, 2, 1, 1, 3, 2, 2},
		0.056793137731607525, -0.06754063974829576},
}

func TestNMIAndARIMatchScikitLearn(t *testing.T) {
	for _, tc := range sklearnCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := NMI(tc.a, tc.b); math.Abs(got-tc.nmi) > 1e-12 {
				t.Errorf("NMI = %.17g, scikit-learn %.17g", got, tc.nmi)
			}
			if got := NMI(tc.b, tc.a); math.Abs(got-tc.nmi) > 1e-12 {
				t.Errorf("NMI(b, a) = %.17g, want symmetric %.17g", got, tc.nmi)
			}
			if got := ARI(tc.a, tc.b); math.Abs(got-tc.ari) > 1e-12 {
				t.Errorf("ARI = %.17g, scikit-learn %.17g", got, tc.ari)
			}
		})
	}
}

func TestMetricsLengthMismatch(t *testing.T) {
	a, b := []int32{0, 1}, []int32{0}
	if !math.IsNaN(NMI(a, b)) || !math.IsNaN(ARI(a, b)) || !math.IsNaN(Purity(a, b)) {
		t.Fatal("want NaN for labellings of different lengths")
	}
}

func TestPurity(t *testing.T) {
	cases := []struct {
		clusters, labels []int32
		want             float64
	}{
		{[]int32{0, 0, 1, 1}, []int32{5, 5, 6, 6}, 1},
		{[]int32{0, 0, 0, 1}, []int32{1, 1, 2, 2}, 0.75},
		{[]int32{0, 0, 0, 0}, []int32{1, 2, 3, 3}, 0.5},
	}
	for _, tc := range cases {
		if got := Purity(tc.clusters, tc.labels); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Purity(%v, %v) = %v, want %v", tc.clusters, tc.labels, got, tc.want)
		}
	}
}

func TestContingencySparse(t *testing.T) {
	// 200,000 items in 100,000 clusters each: a dense table would be 10^10
	// cells; the sparse one has at most n.
	n := 200_000
	a, b := make([]int32, n), make([]int32, n)
	for i := range a {
		a[i] = int32(i / 2)
		b[i] = int32((i / 2) ^ 1)
	}
	tab := Contingency(a, b)
	if len(tab.A) != 100_000 || len(tab.B) != 100_000 || len(tab.Cells) != 100_000 {
		t.Fatalf("sizes: %d x %d with %d cells", len(tab.A), len(tab.B), len(tab.Cells))
	}
	for _, c := range tab.Cells[:10] {
		if c.Count != 2 || tab.A[c.Row]^1 != tab.B[c.Col] {
			t.Fatalf("cell %+v wrong", c)
		}
	}
	if got := NMI(a, b); math.Abs(got-1) > 1e-12 {
		t.Fatalf("NMI of a relabelling = %v, want 1", got)
	}
}

func TestNMIIndependentIsNearZero(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a, b := make([]int32, 50_000), make([]int32, 50_000)
	for i := range a {
		a[i], b[i] = int32(rng.IntN(10)), int32(rng.IntN(10))
	}
	if v := NMI(a, b); v > 0.01 {
		t.Fatalf("NMI of independent labellings = %v", v)
	}
	if v := ARI(a, b); math.Abs(v) > 0.01 {
		t.Fatalf("ARI of independent labellings = %v", v)
	}
}

func TestStabilityNMI(t *testing.T) {
	p := &deepercluster.Assignment{Sub: []int32{0, 0, 1, 1}}
	c := &deepercluster.Assignment{Sub: []int32{4, 4, 2, 2}}
	if v := StabilityNMI(p, c); v != 1 {
		t.Fatalf("StabilityNMI = %v, want 1", v)
	}
	if !math.IsNaN(StabilityNMI(nil, c)) {
		t.Fatal("want NaN without a previous assignment")
	}
}

// FuzzMetrics checks the invariants of the metrics on arbitrary labellings:
// NMI in [0, 1] and symmetric, NMI and ARI of a labelling with itself 1,
// ARI at most 1, purity in (0, 1].
func FuzzMetrics(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1, 2, 2}, []byte{1, 1, 0, 0, 5, 5})
	f.Add([]byte{0, 1, 2, 3}, []byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, ab, bb []byte) {
		n := min(len(ab), len(bb))
		if n == 0 {
			return
		}
		a, b := make([]int32, n), make([]int32, n)
		for i := 0; i < n; i++ {
			a[i], b[i] = int32(ab[i])-128, int32(bb[i])*1000
		}
		const eps = 1e-9
		v := NMI(a, b)
		if !(v >= -eps && v <= 1+eps) || math.Abs(v-NMI(b, a)) > eps {
			t.Fatalf("NMI %v (reverse %v)", v, NMI(b, a))
		}
		if v := NMI(a, a); math.Abs(v-1) > eps {
			t.Fatalf("NMI(a, a) = %v", v)
		}
		if v := ARI(a, a); v != 1 {
			t.Fatalf("ARI(a, a) = %v", v)
		}
		if v := ARI(a, b); !(v <= 1+eps) || math.IsNaN(v) {
			t.Fatalf("ARI %v", v)
		}
		if p := Purity(a, b); !(p > 0 && p <= 1) {
			t.Fatalf("purity %v", p)
		}
	})
}

func TestAccuracy(t *testing.T) {
	cases := []struct {
		name             string
		clusters, labels []int32
		want             float64
	}{
		{"permuted labels", []int32{2, 2, 0, 0, 1, 1}, []int32{0, 0, 1, 1, 2, 2}, 1},
		{"one wrong", []int32{1, 1, 1, 0, 0, 0}, []int32{0, 0, 1, 1, 1, 1}, 5.0 / 6},
		// Greedy would give cluster 0 to label 0 (3 items) and then
		// cluster 1 to label 1 (0): 3/8; the best matching is 0->1 (2),
		// 1->0 (3): 5/8.
		{"greedy is wrong", []int32{0, 0, 0, 0, 0, 1, 1, 1}, []int32{0, 0, 0, 1, 1, 0, 0, 0}, 5.0 / 8},
		{"more clusters than labels", []int32{0, 1, 2, 3}, []int32{0, 0, 1, 1}, 0.5},
		{"one cluster", []int32{7, 7, 7, 7}, []int32{0, 1, 1, 1}, 0.75},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Accuracy(c.clusters, c.labels); math.Abs(got-c.want) > 1e-12 {
				t.Fatalf("Accuracy = %v, want %v", got, c.want)
			}
		})
	}
	if !math.IsNaN(Accuracy([]int32{0}, []int32{0, 1})) {
		t.Fatal("length mismatch: want NaN")
	}
}

func TestAccuracyMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 50 {
		n, k := 40+rng.IntN(60), 2+rng.IntN(5)
		a, b := make([]int32, n), make([]int32, n)
		for i := range a {
			a[i], b[i] = int32(rng.IntN(k)), int32(rng.IntN(k))
		}
		// Brute force over all permutations of k labels.
		best := 0
		perm := make([]int32, k)
		for i := range perm {
			perm[i] = int32(i)
		}
		var walk func(int)
		walk = func(d int) {
			if d == k {
				hit := 0
				for i := range a {
					if perm[a[i]] == b[i] {
						hit++
					}
				}
				best = max(best, hit)
				return
			}
			for i := d; i < k; i++ {
				perm[d], perm[i] = perm[i], perm[d]
				walk(d + 1)
				perm[d], perm[i] = perm[i], perm[d]
			}
		}
		walk(0)
		if got, want := Accuracy(a, b), float64(best)/float64(n); math.Abs(got-want) > 1e-12 {
			t.Fatalf("trial %d: Accuracy = %v, brute force %v", trial, got, want)
		}
	}
}

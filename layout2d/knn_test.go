package layout2d

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// mixture draws n L2-normalised rows of dimension d from c Gaussian clusters
// whose spreads vary from spread/2 to spread*3/2; it returns the rows and
// each row's cluster.
func mixture(n, d, c int, spread float64, seed uint64) ([]float32, []int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	centres := make([]float64, c*d)
	for i := range centres {
		centres[i] = rng.NormFloat64()
	}
	x := make([]float32, n*d)
	label := make([]int, n)
	for i := range n {
		j := rng.IntN(c)
		label[i] = j
		s := spread * (0.5 + float64(j)/float64(c))
		var nrm float64
		row := x[i*d : (i+1)*d]
		for t := range d {
			v := centres[j*d+t] + s*rng.NormFloat64()
			row[t] = float32(v)
			nrm += v * v
		}
		for t := range row {
			row[t] /= float32(math.Sqrt(nrm))
		}
	}
	return x, label
}

func TestExactKNNMatchesBruteForce(t *testing.T) {
	const n, d, k = 700, 9, 6
	x, _ := mixture(n, d, 5, 0.5, 1)
	g, err := ExactKNN(context.Background(), x, n, d, k, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		type nb struct {
			j int32
			d float64
		}
		var all []nb
		for j := range n {
			if j == i {
				continue
			}
			var s float64
			for t := range d {
				v := float64(x[i*d+t] - x[j*d+t])
				s += v * v
			}
			all = append(all, nb{int32(j), math.Sqrt(s)})
		}
		slices.SortFunc(all, func(a, b nb) int {
			if a.d != b.d {
				if a.d < b.d {
					return -1
				}
				return 1
			}
			return int(a.j - b.j)
		})
		idx, dist := g.Row(i)
		for c := range k {
			if math.Abs(float64(dist[c])-all[c].d) > 1e-3 {
				t.Fatalf("row %d neighbour %d: distance %v, want %v", i, c, dist[c], all[c].d)
			}
			if idx[c] != all[c].j && math.Abs(all[c].d-all[min(c+1, len(all)-1)].d) > 1e-5 && (c == 0 || math.Abs(all[c].d-all[c-1].d) > 1e-5) {
				t.Fatalf("row %d neighbour %d: row %d, want %d", i, c, idx[c], all[c].j)
			}
		}
	}
	// Queries: the rows of the full search.
	qs := []int32{5, 0, 699}
	gq, err := ExactKNN(context.Background(), x, n, d, k, qs, 1)
	if err != nil {
		t.Fatal(err)
	}
	for r, q := range qs {
		a, _ := gq.Row(r)
		b, _ := g.Row(int(q))
		if !slices.Equal(a, b) {
			t.Fatalf("query %d: %v, the full search %v", q, a, b)
		}
	}
}

func TestNNDescentRecall(t *testing.T) {
	cases := []struct {
		name       string
		n, d, c    int
		spread     float64
		k, threads int
	}{
		{"tight clusters", 6000, 32, 40, 0.4, 10, 2},
		{"loose clusters", 6000, 16, 10, 1.5, 10, 2},
		{"one thread, k 15", 4000, 64, 100, 0.8, 15, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, _ := mixture(c.n, c.d, c.c, c.spread, 3)
			start := time.Now()
			g, err := KNN(context.Background(), x, c.n, c.d, KNNOptions{K: c.k, Threads: c.threads, Seed: 1, ExactBelow: -1})
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			exact, err := ExactKNN(context.Background(), x, c.n, c.d, 10, nil, 2)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Recall(g, exact, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("recall@10 %.4f in %v", r, took)
			if r < 0.9 {
				t.Fatalf("recall@10 %.4f, want >= 0.9", r)
			}
			for i := range c.n {
				idx, dist := g.Row(i)
				if slices.Contains(idx, int32(i)) || slices.Contains(idx, -1) || !slices.IsSorted(dist) {
					t.Fatalf("row %d: %v %v (itself, missing or unsorted)", i, idx, dist)
				}
			}
		})
	}
}

// TestNNDescentDefaultsRecall: NN-descent with the defaults that scale with
// N (DefaultCandidates, the iteration bound; ExactBelow set aside) finds
// >= 0.9 of the ten nearest neighbours of 20,000 rows of many loose
// clusters in 48 dimensions, whose neighbours are near-equidistant.
func TestNNDescentDefaultsRecall(t *testing.T) {
	const n, d, k = 20000, 48, 15
	x, _ := mixture(n, d, 50, 1.2, 11)
	g, err := KNN(context.Background(), x, n, d, KNNOptions{K: k, Threads: 2, Seed: 3, ExactBelow: -1})
	if err != nil {
		t.Fatal(err)
	}
	qs := make([]int32, 2000)
	for i := range qs {
		qs[i] = int32(i * (n / len(qs)))
	}
	exact, err := ExactKNN(context.Background(), x, n, d, 10, qs, 2)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Recall(g, exact, qs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("recall@10 %.4f with %d candidates", r, DefaultCandidates(n, k))
	if r < 0.9 {
		t.Fatalf("recall@10 %.4f, want >= 0.9", r)
	}
}

// TestDefaultCandidates: k candidates up to 50,000 rows, then more as N
// grows up to 2k, search lists of k up to 200,000 rows, then longer; never
// fewer at a larger N.
func TestDefaultCandidates(t *testing.T) {
	for _, c := range []struct{ n, k, want int }{
		{1000, 15, 15}, {50000, 15, 15}, {50000, 10, 10}, {200000, 15, 27}, {1000000, 15, 30}, {1000000, 24, 48}, {1000000, 10, 20},
	} {
		if got := DefaultCandidates(c.n, c.k); got != c.want {
			t.Errorf("DefaultCandidates(%d, %d) = %d, want %d", c.n, c.k, got, c.want)
		}
	}
	for _, c := range []struct{ n, k, want int }{
		{20000, 15, 15}, {200000, 15, 15}, {1000000, 15, 24}, {1000000, 10, 16},
	} {
		if got := DefaultSearchK(c.n, c.k); got != c.want {
			t.Errorf("DefaultSearchK(%d, %d) = %d, want %d", c.n, c.k, got, c.want)
		}
	}
	prevC, prevS := 0, 0
	for n := 1000; n <= 4000000; n = n * 5 / 4 {
		s := DefaultSearchK(n, 15)
		c := DefaultCandidates(n, s)
		if c < prevC || s < prevS || s < 15 {
			t.Fatalf("%d rows: %d candidates, search lists of %d; fewer than %d, %d at fewer rows (or under k)", n, c, s, prevC, prevS)
		}
		prevC, prevS = c, s
	}
}

func TestNNDescentDeterministicAcrossThreads(t *testing.T) {
	const n, d = 3000, 16
	x, _ := mixture(n, d, 20, 0.8, 5)
	var first *Graph
	for _, th := range []int{1, 3} {
		g, err := KNN(context.Background(), x, n, d, KNNOptions{K: 10, Threads: th, Seed: 9, ExactBelow: -1})
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = g
		} else if !slices.Equal(first.Index, g.Index) {
			t.Fatal("the graph depends on the number of goroutines")
		}
	}
}

func TestKNNCancel(t *testing.T) {
	const n, d = 60000, 32
	x, _ := mixture(n, d, 50, 0.8, 5)
	for _, exactBelow := range []int{-1, n} {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		_, err := KNN(ctx, x, n, d, KNNOptions{K: 10, Threads: 2, ExactBelow: exactBelow})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("exact below %d: err %v, want cancelled", exactBelow, err)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("exact below %d: returned %v after the cancel", exactBelow, took)
		}
	}
}

// TestKNNBadInput: bad shapes and k out of [1, rows) are ErrBadInput; k 0
// means the default 15, too many for 10 rows (the error names k = 15, so a
// k 0 refused as such fails here) and right for 20, where every row gets 15
// neighbours, none itself (a default other than 15 fails there).
func TestKNNBadInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 20*3)
	for i := range x {
		x[i] = rng.Float32()
	}
	for _, c := range []struct {
		name    string
		n, d, k int
		wantErr string // "": want a graph of wantK neighbours a row
		wantK   int
	}{
		{name: "k = rows", n: 10, d: 3, k: 10, wantErr: "k = 10 for 10 rows"},
		{name: "default k over rows", n: 10, d: 3, k: 0, wantErr: "k = 15 for 10 rows"},
		{name: "one row", n: 1, d: 3, k: 1, wantErr: "60 values for 1 rows"},
		{name: "too few values", n: 21, d: 3, k: 2, wantErr: "60 values for 21 rows"},
		{name: "default k", n: 20, d: 3, k: 0, wantK: 15},
		{name: "k = rows - 1", n: 20, d: 3, k: 19, wantK: 19},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, err := KNN(context.Background(), x, c.n, c.d, KNNOptions{K: c.k})
			if c.wantErr != "" {
				if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want ErrBadInput saying %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if g.N != c.n || g.K != c.wantK || len(g.Index) != c.n*c.wantK {
				t.Fatalf("graph %d x %d (%d entries), want %d x %d", g.N, g.K, len(g.Index), c.n, c.wantK)
			}
			for r := range c.n {
				idx, _ := g.Row(r)
				for _, j := range idx {
					if int(j) == r || j < 0 || int(j) >= c.n {
						t.Fatalf("row %d has neighbour %d", r, j)
					}
				}
			}
		})
	}
}

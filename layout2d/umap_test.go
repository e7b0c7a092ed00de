package layout2d

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestTrustworthinessMatchesScikitLearn(t *testing.T) {
	cases := []struct {
		name string
		x    []float32
		d    int
		y    []float32
		k    int
		want float64
	}{
		// By hand: input ranks a: b1 c2 d3, b: a1 c2 d3, c: b1 a2 d3,
		// d: c1 b2 a3. Layout neighbours a->c (rank 2), b->d (3), c->a
		// (2), d->b (2): penalties 1+2+1+1 = 5, and
		// T = 1 - 2/(4*1*(8-3-1)) * 5 = 0.375 (scikit-learn 1.2.1 agrees).
		{"four points on a line, k 1", []float32{0, 1, 3, 7}, 1, []float32{0, 5, 1, 6}, 1, 0.375},
		// scikit-learn 1.2.1's answer.
		{"six points in the plane, k 2", []float32{0, 0, 1, 0, 3, 0, 7, 0, 7, 1, 2, 2}, 2, []float32{0, 5, 1.2, 6.5, 2.1, 4.4}, 2, 0.33333333333333337},
		{"the identity layout", []float32{0, 1, 3, 7, 8, 12}, 1, []float32{0, 1, 3, 7, 8, 12}, 2, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Trustworthiness(context.Background(), c.x, c.d, c.y, 1, c.k, 2)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-c.want) > 1e-9 {
				t.Fatalf("trustworthiness %v, want %v", got, c.want)
			}
		})
	}
	if _, err := Trustworthiness(context.Background(), []float32{0, 1, 2, 3}, 1, []float32{0, 1, 2, 3}, 1, 2, 1); !errors.Is(err, ErrBadInput) {
		t.Fatalf("k = n/2: err %v, want ErrBadInput", err)
	}
}

// sameLabelNearest is the share of points whose nearest point in the layout
// has their own label.
func sameLabelNearest(t *testing.T, xs, ys []float32, label []int) float64 {
	t.Helper()
	n := len(xs)
	pos := make([]float32, 2*n)
	for i := range n {
		pos[2*i], pos[2*i+1] = xs[i], ys[i]
	}
	g, err := ExactKNN(context.Background(), pos, n, 2, 1, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for i := range n {
		if label[g.Index[i]] == label[i] {
			same++
		}
	}
	return float64(same) / float64(n)
}

func TestEmbedSeparatesClusters(t *testing.T) {
	cases := []struct {
		name            string
		n, d, c         int
		spread          float64
		epochs, threads int
		pca             bool
		minTrust        float64
	}{
		{"ten clusters, PCA start", 3000, 32, 10, 0.3, 200, 2, true, 0.95},
		{"forty clusters, random start", 3000, 16, 40, 0.3, 200, 2, false, 0.9},
		{"five clusters, one thread", 1500, 64, 5, 0.2, 100, 1, true, 0.9},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, label := mixture(c.n, c.d, c.c, c.spread, 11)
			ctx := context.Background()
			g, err := KNN(ctx, x, c.n, c.d, KNNOptions{K: 15, Threads: c.threads, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			init := x
			if !c.pca {
				init = nil
			}
			var snaps []int
			start := time.Now()
			xs, ys, err := Embed(ctx, g, init, c.d, EmbedOptions{Epochs: c.epochs, Threads: c.threads, Seed: 2,
				SnapshotAt: []int{1, c.epochs / 2}, Snapshot: func(e int, sx, sy []float32) { snaps = append(snaps, e) }})
			if err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			for i := range xs {
				if math.IsNaN(float64(xs[i])) || math.IsInf(float64(ys[i]), 0) {
					t.Fatalf("point %d at (%v,%v)", i, xs[i], ys[i])
				}
			}
			if !slices.Equal(snaps, []int{1, c.epochs / 2}) {
				t.Fatalf("snapshots after epochs %v", snaps)
			}
			pos := make([]float32, 2*c.n)
			for i := range c.n {
				pos[2*i], pos[2*i+1] = xs[i], ys[i]
			}
			tw, err := Trustworthiness(ctx, x, c.d, pos, 2, 10, 2)
			if err != nil {
				t.Fatal(err)
			}
			same := sameLabelNearest(t, xs, ys, label)
			t.Logf("trustworthiness %.4f, nearest of the same cluster %.4f, embed %v", tw, same, took)
			if tw < c.minTrust || same < 0.98 {
				t.Fatalf("trustworthiness %.4f (want >= %v), nearest of the same cluster %.4f (want >= 0.98)", tw, c.minTrust, same)
			}
		})
	}
}

func TestEmbedDeterministicAcrossThreads(t *testing.T) {
	const n, d = 1200, 16
	x, _ := mixture(n, d, 8, 0.5, 3)
	g, err := KNN(context.Background(), x, n, d, KNNOptions{K: 10, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var fx, fy []float32
	for _, th := range []int{1, 4} {
		xs, ys, err := Embed(context.Background(), g, x, d, EmbedOptions{Epochs: 50, Threads: th, Seed: 4})
		if err != nil {
			t.Fatal(err)
		}
		if fx == nil {
			fx, fy = xs, ys
		} else if !slices.Equal(fx, xs) || !slices.Equal(fy, ys) {
			t.Fatal("the layout depends on the number of goroutines")
		}
	}
}

func TestEmbedCancel(t *testing.T) {
	const n, d = 20000, 16
	x, _ := mixture(n, d, 20, 0.5, 3)
	g, err := KNN(context.Background(), x, n, d, KNNOptions{K: 15, Seed: 1, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, _, err = Embed(ctx, g, x, d, EmbedOptions{Epochs: 100000, Threads: 2})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want cancelled", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("returned %v after the cancel", took)
	}
}

// A layout started from the previous version's (EmbedOptions.InitX), with
// WarmEpochs, of features that moved a little since, is as faithful as a
// cold start with every epoch, and keeps the earlier map's shape: started
// from the old map mirrored, it stays mirrored, where a cold start (PCA)
// would not.
func TestWarmStartKeepsTrustworthiness(t *testing.T) {
	const n, d, c = 3000, 32, 10
	ctx := context.Background()
	x, _ := mixture(n, d, c, 0.3, 11)
	layout := func(x []float32, opt EmbedOptions) (xs, ys, pos []float32) {
		t.Helper()
		g, err := KNN(ctx, x, n, d, KNNOptions{K: 15, Threads: 2, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		opt.Threads, opt.Seed = 2, 3
		xs, ys, err = Embed(ctx, g, x, d, opt)
		if err != nil {
			t.Fatal(err)
		}
		pos = make([]float32, 2*n)
		for i := range n {
			pos[2*i], pos[2*i+1] = xs[i], ys[i]
		}
		return xs, ys, pos
	}
	x0, y0, _ := layout(x, EmbedOptions{})
	// The next version's features: every row moved by noise a third of the
	// clusters' spread.
	rng := rand.New(rand.NewPCG(5, 6))
	moved := append([]float32(nil), x...)
	for i := range moved {
		moved[i] += float32(rng.NormFloat64() * 0.1)
	}
	coldX, _, coldPos := layout(moved, EmbedOptions{})
	mirrored := make([]float32, n)
	for i, v := range x0 {
		mirrored[i] = -v
	}
	wx, wy, warmPos := layout(moved, EmbedOptions{InitX: mirrored, InitY: y0, Epochs: WarmEpochs(n)})
	twCold, err := Trustworthiness(ctx, moved, d, coldPos, 2, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	twWarm, err := Trustworthiness(ctx, moved, d, warmPos, 2, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	corrWarm, corrCold := correlation(wx, mirrored), correlation(coldX, mirrored)
	t.Logf("trustworthiness cold %.4f (%d epochs), warm %.4f (%d epochs); x against the mirrored old map's: warm %.3f, cold %.3f",
		twCold, DefaultEpochs(n), twWarm, WarmEpochs(n), corrWarm, corrCold)
	if twWarm < twCold-0.01 {
		t.Errorf("warm start's trustworthiness %.4f, more than 0.01 under the cold start's %.4f", twWarm, twCold)
	}
	if corrWarm < 0.8 {
		t.Errorf("warm start's x against its start's: correlation %.3f, want >= 0.8 (a cold start: %.3f): the start was not kept", corrWarm, corrCold)
	}
	for i := range wx {
		if math.IsNaN(float64(wx[i])) || math.IsNaN(float64(wy[i])) {
			t.Fatalf("point %d at (%v,%v)", i, wx[i], wy[i])
		}
	}
	g, err := KNN(ctx, x, n, d, KNNOptions{K: 15, Threads: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Embed(ctx, g, x, d, EmbedOptions{InitX: x0[:n-1], InitY: y0}); !errors.Is(err, ErrBadInput) {
		t.Errorf("initial positions for %d points of %d: err %v, want ErrBadInput", n-1, n, err)
	}
}

// correlation is Pearson's correlation of a and b.
func correlation(a, b []float32) float64 {
	var ma, mb float64
	for i := range a {
		ma += float64(a[i])
		mb += float64(b[i])
	}
	ma, mb = ma/float64(len(a)), mb/float64(len(b))
	var sab, saa, sbb float64
	for i := range a {
		da, db := float64(a[i])-ma, float64(b[i])-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	return sab / math.Sqrt(saa*sbb)
}

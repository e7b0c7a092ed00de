package cluster

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// blobsWithTail draws n rows per class in 2-D: class 0 wide (x ~ N(0, 1)),
// class 1 narrow (x ~ N(3.5, 0.2)), both with y ~ N(0, 0.3). k-means puts
// its boundary half-way between the means and hands the wide class's tail
// (about 4% of it) to the narrow one; the classes' gap is empty, so each
// row's nearest neighbours know better.
func blobsWithTail(n int, seed uint64) ([]float32, []int32) {
	rng := rand.New(rand.NewPCG(seed, 7))
	x := make([]float32, 0, 4*n)
	y := make([]int32, 0, 2*n)
	for c := range 2 {
		for range n {
			mu, sd := 0.0, 1.0
			if c == 1 {
				mu, sd = 3.5, 0.2
			}
			x = append(x, float32(mu+sd*rng.NormFloat64()), float32(0.3*rng.NormFloat64()))
			y = append(y, int32(c))
		}
	}
	return x, y
}

func TestRefineNeighboursFixesMislabelled(t *testing.T) {
	const n = 1000
	x, y := blobsWithTail(n, 1)
	xNew, yNew := blobsWithTail(n, 2)
	for _, tc := range []struct {
		name string
		opts RefineOptions
	}{
		{"scan+self-label", RefineOptions{K: 2, Neighbours: 10, Raw: true, Seed: 1, Steps: 300}},
		{"scan only", RefineOptions{K: 2, Neighbours: 10, Raw: true, Seed: 1, Threshold: 2, LR: 0.1}},
		{"diffusion+scan", RefineOptions{K: 2, Neighbours: 10, Raw: true, Seed: 1, Diffuse: 2, LR: 0.05}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := RefineNeighbours(context.Background(), x, 2*n, 2, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			before, after := 2*n-int(Accuracy(r.Initial, y)*2*n+0.5), 2*n-int(Accuracy(r.Assigned, y)*2*n+0.5)
			// The test fails if k-means were already right: then there is
			// nothing to fix.
			if before < 20 {
				t.Fatalf("k-means mislabels %d of %d rows: the data does not test the refinement", before, 2*n)
			}
			if after > before/4 {
				t.Errorf("refined: %d mislabelled rows, k-means %d: want at most a quarter", after, before)
			}
			got, err := r.Assign(context.Background(), xNew, 2*n)
			if err != nil {
				t.Fatal(err)
			}
			if wrong := 2*n - int(Accuracy(got, yNew)*2*n+0.5); wrong > before/4 {
				t.Errorf("new rows: %d mislabelled, k-means on the fitted rows %d: want at most a quarter", wrong, before)
			}
			t.Logf("mislabelled: k-means %d, refined %d, confident %d", before, after, r.Confident)
		})
	}
}

func TestRefineNeighboursBadInput(t *testing.T) {
	x, _ := blobsWithTail(20, 1)
	for _, tc := range []struct {
		name string
		x    []float32
		n, d int
		opts RefineOptions
	}{
		{"too few values", x[:10], 40, 2, RefineOptions{K: 2, Neighbours: 3}},
		{"one cluster", x, 40, 2, RefineOptions{K: 1, Neighbours: 3}},
		{"more clusters than rows", x, 40, 2, RefineOptions{K: 41, Neighbours: 3}},
		{"as many neighbours as rows", x, 40, 2, RefineOptions{K: 2, Neighbours: 40}},
		{"alpha above 1", x, 40, 2, RefineOptions{K: 2, Neighbours: 3, Alpha: 1.5}},
		{"unknown pick", x, 40, 2, RefineOptions{K: 2, Neighbours: 3, Pick: "median"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := RefineNeighbours(context.Background(), tc.x, tc.n, tc.d, tc.opts); !errors.Is(err, ErrBadInput) {
				t.Errorf("err = %v, want ErrBadInput", err)
			}
		})
	}
}

// TestSearchManyMatchesSearch checks the batched neighbour search against
// one Search per query, with and without leaving out the query's own row.
func TestSearchManyMatchesSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n, d, want = 700, 5, 6
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	k, err := NewKNN(x, n, d)
	if err != nil {
		t.Fatal(err)
	}
	for _, self := range []bool{true, false} {
		got, err := k.SearchMany(context.Background(), x, n, want, self)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			skip := -1
			if self {
				skip = i
			}
			nb, err := k.Search(x[i*d:(i+1)*d], want, skip)
			if err != nil {
				t.Fatal(err)
			}
			for p, b := range nb {
				if g := got[i*want+p]; int(g) != b.Index {
					t.Fatalf("self=%v query %d neighbour %d: SearchMany %d, Search %d", self, i, p, g, b.Index)
				}
			}
		}
	}
}

// TestRefineStartsKeepsLowestLoss: of Starts refinements, the one kept has
// the lowest of their SCAN losses; the first start is the one a single
// start makes.
func TestRefineStartsKeepsLowestLoss(t *testing.T) {
	const n, k = 600, 6
	x, _ := blobsWithTail(n, 3)
	o := RefineOptions{K: k, Neighbours: 8, Raw: true, Restarts: 1, Steps: 30, Threshold: 2, Seed: 1, Starts: 4}
	r, err := RefineNeighbours(context.Background(), x, 2*n, 2, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.StartLosses) != 4 {
		t.Fatalf("%d start losses, want 4", len(r.StartLosses))
	}
	lowest, highest := slices.Min(r.StartLosses), slices.Max(r.StartLosses)
	if lowest == highest {
		t.Fatalf("every start reached loss %v: the data does not test the choice", lowest)
	}
	if r.Loss != lowest {
		t.Errorf("4 starts kept loss %v, want the lowest, %v (of %v)", r.Loss, lowest, r.StartLosses)
	}
	one := o
	one.Starts = 1
	r1, err := RefineNeighbours(context.Background(), x, 2*n, 2, one)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Loss != r.StartLosses[0] {
		t.Errorf("one start: loss %v, want the first of 4 starts' %v", r1.Loss, r.StartLosses[0])
	}
}

// TestStartSeedsAreDisjoint: two refinement seeds share no k-means run,
// however many starts and restarts they make.
func TestStartSeedsAreDisjoint(t *testing.T) {
	seen := map[uint64]uint64{}
	for seed := uint64(1); seed <= 5; seed++ {
		for i := range 1000 {
			s := startSeed(seed, i)
			if prev, ok := seen[s]; ok {
				t.Fatalf("seeds %d and %d both draw k-means seed %d", prev, seed, s)
			}
			seen[s] = seed
		}
	}
}

// TestPickRefinement: which of several refinements each rule keeps.
func TestPickRefinement(t *testing.T) {
	a := []int32{0, 0, 0, 1, 1, 1, 2, 2, 2}
	aPerm := []int32{2, 2, 2, 0, 0, 0, 1, 1, 1} // a with other ids: NMI 1
	b := []int32{0, 1, 2, 0, 1, 2, 0, 1, 2}     // independent of a: NMI 0
	c := []int32{0, 0, 1, 1, 1, 1, 2, 2, 2}     // close to a
	cand := func(loss float64, asg []int32) refineCandidate { return refineCandidate{loss: loss, assigned: asg} }
	for _, tc := range []struct {
		name  string
		cands []refineCandidate
		pick  Pick
		want  int
	}{
		{"loss: the lowest", []refineCandidate{cand(-1, a), cand(-3, b), cand(-2, c)}, PickLoss, 1},
		{"loss: the first of equal losses", []refineCandidate{cand(-2, a), cand(-2, b)}, PickLoss, 0},
		{"agreement: the partition most starts share", []refineCandidate{cand(-1, a), cand(-3, b), cand(-2, aPerm)}, PickAgreement, 2},
		{"agreement: the medoid, not the lowest loss; of equals the lower loss", []refineCandidate{cand(-3, b), cand(-1, c), cand(-1.5, aPerm), cand(-2, a)}, PickAgreement, 3},
		{"agreement: one start", []refineCandidate{cand(-1, a)}, PickAgreement, 0},
		{"agreement: two starts, the loss decides", []refineCandidate{cand(-1, a), cand(-2, b)}, PickAgreement, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pickRefinement(tc.cands, tc.pick); got != tc.want {
				t.Errorf("kept %d, want %d", got, tc.want)
			}
		})
	}
}

// TestScanLossMatchesGrad checks scanLoss against scanGrad, its gradient
// with respect to the probabilities, by central differences.
func TestScanLossMatchesGrad(t *testing.T) {
	const n, k, kn = 7, 3, 2
	rng := rand.New(rand.NewPCG(5, 6))
	p := make([]float64, n*k)
	for i := range n {
		for c := range k {
			p[i*k+c] = 0.1 + rng.Float64()
		}
	}
	nb := []int32{1, 2, 0, 3, 4, -1, 5, 6, 6, 0, 1, 2, 3, 4}
	g := make([]float64, n*k)
	scanGrad(p, g, newNeighbourGraph(nb, n, kn), k, 1.5)
	const h = 1e-6
	for q := range p {
		old := p[q]
		p[q] = old + h
		up := scanLoss(p, nb, n, k, kn, 1.5)
		p[q] = old - h
		down := scanLoss(p, nb, n, k, kn, 1.5)
		p[q] = old
		if num := (up - down) / (2 * h); math.Abs(num-g[q]) > 1e-6*max(1, math.Abs(num)) {
			t.Errorf("d loss / d p[%d]: numeric %v, scanGrad %v", q, num, g[q])
		}
	}
}

func TestRefineStartLabels(t *testing.T) {
	x, y := blobsWithTail(200, 4)
	r, err := RefineNeighbours(context.Background(), x, 400, 2, RefineOptions{K: 2, Neighbours: 5, Raw: true, Steps: -1, Threshold: 2, Start: y})
	if err != nil {
		t.Fatal(err)
	}
	if acc := Accuracy(r.Assigned, y); acc < 0.9 {
		t.Errorf("started from the true labels, no steps: accuracy %v, want the labels' nearest-mean clustering (>= 0.9)", acc)
	}
	for _, bad := range [][]int32{y[:10], append(append([]int32(nil), y[:399]...), 2)} {
		if _, err := RefineNeighbours(context.Background(), x, 400, 2, RefineOptions{K: 2, Neighbours: 5, Start: bad}); !errors.Is(err, ErrBadInput) {
			t.Errorf("start of %d labels (last %d): got %v, want ErrBadInput", len(bad), bad[len(bad)-1], err)
		}
	}
}

// TestHeadMatchesFloat64: the head's probabilities and weight gradients,
// whose products over the rows run in float32 on Sgemm, against the same
// sums in float64, over sizes that cross the product's tiles.
func TestHeadMatchesFloat64(t *testing.T) {
	for _, tc := range []struct{ n, d, k int }{{1, 1, 2}, {50, 7, 4}, {1000, 70, 10}} {
		rng := rand.New(rand.NewPCG(uint64(tc.n), uint64(tc.d)))
		h := head{x: make([]float32, tc.n*tc.d), n: tc.n, d: tc.d, k: tc.k, w: make([]float64, tc.d*tc.k), b: make([]float64, tc.k)}
		for i := range h.x {
			h.x[i] = float32(rng.NormFloat64())
		}
		for i := range h.w {
			h.w[i] = rng.NormFloat64() / 4
		}
		for i := range h.b {
			h.b[i] = rng.NormFloat64()
		}
		g := make([]float64, tc.n*tc.k)
		for i := range g {
			g[i] = rng.NormFloat64()
		}
		// The float64 reference.
		wantP := make([]float64, tc.n*tc.k)
		wantW, wantB := make([]float64, tc.d*tc.k), make([]float64, tc.k)
		for i := range tc.n {
			row := wantP[i*tc.k : (i+1)*tc.k]
			for c := range row {
				row[c] = h.b[c]
				for j := range tc.d {
					row[c] += float64(h.x[i*tc.d+j]) * h.w[j*tc.k+c]
				}
			}
			softmax(row)
			var s float64
			for c := range row {
				s += row[c] * g[i*tc.k+c]
			}
			for c := range row {
				dz := row[c] * (g[i*tc.k+c] - s)
				wantB[c] += dz
				for j := range tc.d {
					wantW[j*tc.k+c] += float64(h.x[i*tc.d+j]) * dz
				}
			}
		}
		p := h.probs()
		dw := make([]float32, tc.d*tc.k)
		db := h.grad(wantP, g, make([]float32, tc.n*tc.k), dw)
		for i := range p {
			if math.Abs(p[i]-wantP[i]) > 1e-5 {
				t.Fatalf("%+v: probability %d = %v, want %v", tc, i, p[i], wantP[i])
			}
		}
		scale := 0.0
		for _, v := range wantW {
			scale = max(scale, math.Abs(v))
		}
		for i := range dw {
			if math.Abs(float64(dw[i])-wantW[i]) > 1e-5*scale {
				t.Fatalf("%+v: weight gradient %d = %v, want %v (largest %v)", tc, i, dw[i], wantW[i], scale)
			}
		}
		for c := range db {
			if math.Abs(db[c]-wantB[c]) > 1e-5*max(scale, 1) {
				t.Fatalf("%+v: bias gradient %d = %v, want %v", tc, c, db[c], wantB[c])
			}
		}
	}
}

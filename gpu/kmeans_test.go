package gpu

import (
	"fmt"
	"github.com/deepercluster/deepercluster/gpu/device"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/deepercluster/deepercluster/cluster"
)

// blobs draws n points of d dimensions around k random centres.
func blobs(rng *rand.Rand, n, d, k int) (x, cent []float32) {
	cent = randSlice(rng, k*d)
	x = make([]float32, n*d)
	for i := range n {
		c := rng.IntN(k)
		for j := range d {
			x[i*d+j] = cent[c*d+j] + 0.3*float32(rng.NormFloat64())
		}
	}
	// perturb the centroids so that assignment is not trivial
	for i := range cent {
		cent[i] += 0.2 * float32(rng.NormFloat64())
	}
	return x, cent
}

// testKMeansAssign: the GPU assignment equals the CPU engine's
// (cluster.Assign) on at least 99.9% of points, and their sums of squared
// distances agree.
func testKMeansAssign(t *testing.T, dev device.Device) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, tc := range []struct{ n, d, k int }{
		{1, 3, 1},
		{100, 5, 7},
		{3001, 19, 37},
		{700, 64, 130},
	} {
		t.Run(fmt.Sprintf("n%d_d%d_k%d", tc.n, tc.d, tc.k), func(t *testing.T) {
			x, cent := blobs(rng, tc.n, tc.d, tc.k)
			want := make([]int32, tc.n)
			wsum, err := cluster.Assign(t.Context(), x, tc.n, tc.d, cent, tc.k, want, 1)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]int32, tc.n)
			gsum, err := Assign(dev, x, tc.n, tc.d, cent, tc.k, got)
			if err != nil {
				t.Fatal(err)
			}
			same := 0
			for i := range got {
				if got[i] == want[i] {
					same++
				}
			}
			if float64(same) < 0.999*float64(tc.n) {
				t.Errorf("%d of %d assignments equal the CPU's", same, tc.n)
			}
			if math.Abs(gsum-wsum) > 1e-3*max(wsum, 1e-6) {
				t.Errorf("sum of squared distances %.6g, CPU %.6g", gsum, wsum)
			}
		})
	}
}

// testKMeansUpdate: centroids are the float64 means of their points;
// an empty cluster keeps its centroid; sizes are the label counts.
func testKMeansUpdate(t *testing.T, dev device.Device) {
	rng := rand.New(rand.NewPCG(4, 2))
	const n, d, k = 517, 13, 9
	x, cent := blobs(rng, n, d, k)
	labels := make([]int32, n)
	for i := range labels {
		labels[i] = int32(rng.IntN(k - 1)) // cluster k-1 stays empty
	}
	km, err := NewKMeans(dev, x, n, d)
	if err != nil {
		t.Fatal(err)
	}
	defer km.Close()
	got := append([]float32(nil), cent...)
	sizes, err := km.Update(labels, got, k)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float64, k*d)
	count := make([]int, k)
	for i, c := range labels {
		count[c]++
		for j := range d {
			want[int(c)*d+j] += float64(x[i*d+j])
		}
	}
	for c := range k {
		if sizes[c] != count[c] {
			t.Fatalf("cluster %d: size %d, want %d", c, sizes[c], count[c])
		}
		for j := range d {
			if count[c] == 0 {
				want[c*d+j] = float64(cent[c*d+j])
			} else {
				want[c*d+j] /= float64(count[c])
			}
		}
	}
	checkClose(t, "centroids", got, want)
	// a second round on the same points: assignment then update
	out := make([]int32, n)
	if _, err := km.Assign(got, k, out); err != nil {
		t.Fatal(err)
	}
	if _, err := km.Update(out, got, k); err != nil {
		t.Fatal(err)
	}
}

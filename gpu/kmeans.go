package gpu

import (
	"fmt"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/gpu/device"
)

// assignRows is the most rows one kmeans_assign launch takes: 64 rows a
// block and at most 65535 blocks in a CUDA grid's y dimension.
const assignRows = 64 * 65535

// KMeans keeps n points of d dimensions on the device for the iterations
// of a k-means (the two-level clustering runs many on the same features):
// the points are uploaded once, each iteration moves only the centroids
// and the labels. Assign is the E-step (distances by the GEMM tile loop,
// argmin fused), Update the M-step (per-cluster means summed in row order,
// so the result does not depend on the device). Use it from one goroutine.
type KMeans struct {
	dev  device.Device
	o    ops
	n, d int
	x    device.Buffer // (n, d)
	xn   device.Buffer // (n) squared norms
	// per-k buffers, grown on demand
	k                  int
	cent, cn           device.Buffer
	label, dist        device.Buffer // (n)
	order, start       device.Buffer
	hostDist           []float32
	hostStart, hostOrd []int32
}

// NewKMeans uploads x (n x d, row-major) to dev.
func NewKMeans(dev device.Device, x []float32, n, d int) (*KMeans, error) {
	if n < 1 || d < 1 || len(x) < n*d {
		return nil, fmt.Errorf("gpu: k-means over %d values as %d x %d", len(x), n, d)
	}
	km := &KMeans{dev: dev, o: ops{dev}, n: n, d: d}
	var err error
	for _, b := range []struct {
		dst *device.Buffer
		n   int
	}{{&km.x, n * d}, {&km.xn, n}, {&km.label, n}, {&km.dist, n}, {&km.order, n}} {
		if *b.dst, err = km.alloc(b.n); err != nil {
			km.Close()
			return nil, err
		}
	}
	if err := dev.WriteF32(km.x, 0, x[:n*d]); err != nil {
		km.Close()
		return nil, fmt.Errorf("gpu: upload k-means points: %w", err)
	}
	if err := km.o.line("row_sqnorm", n, km.x, int32(n), int32(d), km.xn); err != nil {
		km.Close()
		return nil, err
	}
	return km, nil
}

func (km *KMeans) alloc(floats int) (device.Buffer, error) {
	b, err := km.dev.Alloc(4 * max(floats, 1))
	if err != nil {
		return nil, fmt.Errorf("gpu: k-means alloc %d floats: %w", floats, err)
	}
	return b, nil
}

// setK sizes the centroid buffers for k clusters.
func (km *KMeans) setK(k int) error {
	if k == km.k {
		return nil
	}
	for _, b := range []device.Buffer{km.cent, km.cn, km.start} {
		km.dev.Free(b)
	}
	km.cent, km.cn, km.start, km.k = nil, nil, nil, 0
	var err error
	if km.cent, err = km.alloc(k * km.d); err != nil {
		return err
	}
	if km.cn, err = km.alloc(k); err != nil {
		return err
	}
	if km.start, err = km.alloc(k + 1); err != nil {
		return err
	}
	km.k = k
	return nil
}

// Assign writes into out the nearest of the k centroids (k x d) for every
// point (the first on a tie) and returns the sum of squared distances.
func (km *KMeans) Assign(cent []float32, k int, out []int32) (float64, error) {
	if k < 1 || len(cent) < k*km.d || len(out) < km.n {
		return 0, fmt.Errorf("gpu: assign: %d centroids of %d values, %d outputs for %d points", k, len(cent), len(out), km.n)
	}
	if err := km.setK(k); err != nil {
		return 0, err
	}
	if err := km.dev.WriteF32(km.cent, 0, cent[:k*km.d]); err != nil {
		return 0, fmt.Errorf("gpu: upload centroids: %w", err)
	}
	if err := km.o.line("row_sqnorm", k, km.cent, int32(k), int32(km.d), km.cn); err != nil {
		return 0, err
	}
	for r0 := 0; r0 < km.n; r0 += assignRows {
		rows := min(assignRows, km.n-r0)
		if err := km.o.launch("kmeans_assign", device.Dim{1, ceilDiv(rows, tile), 1}, tileBlock,
			km.x, km.xn, int32(r0), int32(rows), int32(km.d), km.cent, km.cn, int32(k), km.label, km.dist); err != nil {
			return 0, err
		}
	}
	if err := km.dev.Finish(); err != nil {
		return 0, fmt.Errorf("gpu: assign: %w", err)
	}
	if err := km.dev.ReadI32(km.label, 0, out[:km.n]); err != nil {
		return 0, fmt.Errorf("gpu: read labels: %w", err)
	}
	if cap(km.hostDist) < km.n {
		km.hostDist = make([]float32, km.n)
	}
	dist := km.hostDist[:km.n]
	if err := km.dev.ReadF32(km.dist, 0, dist); err != nil {
		return 0, fmt.Errorf("gpu: read distances: %w", err)
	}
	var sum float64
	for _, v := range dist {
		sum += float64(v)
	}
	return sum, nil
}

// Update sets each of the k centroids (k x d) to the mean of the points
// labelled with it, as cluster.KMeans's M-step; an empty cluster keeps its
// centroid. It returns the cluster sizes.
func (km *KMeans) Update(labels []int32, cent []float32, k int) ([]int, error) {
	if k < 1 || len(cent) < k*km.d || len(labels) < km.n {
		return nil, fmt.Errorf("gpu: update: %d centroids of %d values, %d labels for %d points", k, len(cent), len(labels), km.n)
	}
	if err := km.setK(k); err != nil {
		return nil, err
	}
	km.hostStart, km.hostOrd = deepercluster.GroupByLabel(labels[:km.n], k, km.hostStart, km.hostOrd)
	if err := km.dev.WriteF32(km.cent, 0, cent[:k*km.d]); err != nil {
		return nil, fmt.Errorf("gpu: upload centroids: %w", err)
	}
	if err := km.dev.WriteI32(km.order, 0, km.hostOrd); err != nil {
		return nil, fmt.Errorf("gpu: upload groups: %w", err)
	}
	if err := km.dev.WriteI32(km.start, 0, km.hostStart); err != nil {
		return nil, fmt.Errorf("gpu: upload groups: %w", err)
	}
	if err := km.o.line("centroid_mean", k*km.d, km.x, km.order, km.start, km.cent, int32(k), int32(km.d)); err != nil {
		return nil, err
	}
	if err := km.dev.Finish(); err != nil {
		return nil, fmt.Errorf("gpu: update: %w", err)
	}
	if err := km.dev.ReadF32(km.cent, 0, cent[:k*km.d]); err != nil {
		return nil, fmt.Errorf("gpu: read centroids: %w", err)
	}
	sizes := make([]int, k)
	for c := range k {
		sizes[c] = int(km.hostStart[c+1] - km.hostStart[c])
	}
	return sizes, nil
}

// Close frees the device memory.
func (km *KMeans) Close() {
	for _, b := range []device.Buffer{km.x, km.xn, km.label, km.dist, km.order, km.cent, km.cn, km.start} {
		km.dev.Free(b)
	}
	*km = KMeans{}
}

// Assign is a one-shot KMeans.Assign: the nearest of the k centroids
// (k x d) for each of the n rows of x (n x d), and the sum of squared
// distances.
func Assign(dev device.Device, x []float32, n, d int, cent []float32, k int, out []int32) (float64, error) {
	km, err := NewKMeans(dev, x, n, d)
	if err != nil {
		return 0, err
	}
	defer km.Close()
	return km.Assign(cent, k, out)
}

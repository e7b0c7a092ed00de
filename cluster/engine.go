package cluster

// Lloyd is the two steps of a Lloyd iteration over one fixed set of n
// points of d dimensions, computed somewhere other than this package's
// CPU kernels: a GPU keeps the points in its memory for all the
// iterations of a k-means and moves only centroids and labels
// (gpu.KMeans is one). KMeans keeps everything else (the initialisation,
// refilling empty clusters, stopping) on the CPU, so an engine changes
// where the arithmetic runs, not the method.
type Lloyd interface {
	// Assign writes into out the nearest of the k centroids (k x d,
	// row-major) for every point, the first on a tie, and returns the sum
	// of squared distances.
	Assign(cent []float32, k int, out []int32) (float64, error)
	// Update sets each of the k centroids to the mean of the points
	// labelled with it; a cluster without points keeps its centroid. It
	// returns the cluster sizes.
	Update(labels []int32, cent []float32, k int) ([]int, error)
	// Close frees what the engine holds for the points.
	Close()
}

// Engine makes a Lloyd over the n x d points x (row-major). It lets a
// caller (the trainer, with a GPU backend active) hand KMeans and
// Hierarchy a device without this package importing one; nil in
// KMeansOptions and HierarchyConfig means the CPU kernels.
type Engine func(x []float32, n, d int) (Lloyd, error)

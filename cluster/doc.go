// Package cluster is the clustering half of DeeperCluster: PCA with
// whitening, float32 k-means at the speed of faiss, the two-level hierarchy
// of super- and sub-clusters, the label-uniform sampler and the metrics that
// compare clusterings.
//
// The hot loop of k-means is a matrix product. It runs on register-blocked
// micro-kernels written in Go assembly for AVX-512 and AVX2 (chosen at start
// from CPUID), with a pure-Go fallback on other CPUs and architectures, so
// the package builds everywhere with a plain `go build` and no cgo. The
// k-means assignment step fuses the distance computation with the argmin, so
// no N x k matrix is ever written.
//
// All matrices are row-major float32 slices.
package cluster

package deepercluster

import "math"

// ImagesPerSubcluster is the mean sub-cluster size that the default m and
// k aim at: a few dozen images, enough to see what a cluster holds, few
// enough to tell clusters apart (README, "Defaults that fit the
// collection").
const ImagesPerSubcluster = 32

// ShapeFor is the m and k a run of this preset takes on n images when the
// user names neither: T = max(1, round(n/32)) sub-clusters in all; for
// deepercluster m = clamp(round(sqrt(T/4)), 1, n) super-clusters of
// k = max(1, round(T/m)) sub-clusters each (about four times as many
// sub-clusters per super-cluster as super-clusters); deepcluster m = 1,
// k = T; rotnet m = T, k = 1. A plain function of n, so the client can tell
// the defaults in force and say so.
func (p Preset) ShapeFor(n int) (m, k int) {
	total := max(1, int(math.Round(float64(n)/ImagesPerSubcluster)))
	switch p {
	case PresetDeepCluster:
		return 1, min(total, 100_000)
	case PresetRotNet:
		return min(total, 10_000, max(n, 1)), 1
	}
	m = min(max(1, int(math.Round(math.Sqrt(float64(total)/4)))), 10_000, max(n, 1))
	return m, min(max(1, int(math.Round(float64(total)/float64(m)))), 100_000)
}

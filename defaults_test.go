package deepercluster

import "testing"

// TestShapeFor pins the rule of the default m and k, and checks that it
// keeps sub-clusters at a few dozen images on average where n allows.
func TestShapeFor(t *testing.T) {
	cases := []struct {
		preset Preset
		n      int
		m, k   int
	}{
		{PresetDeeperCluster, 1, 1, 1},
		{PresetDeeperCluster, 10, 1, 1},
		{PresetDeeperCluster, 86, 1, 3},
		{PresetDeeperCluster, 100, 1, 3},
		{PresetDeeperCluster, 500, 2, 8},
		{PresetDeeperCluster, 10_000, 9, 35},
		{PresetDeeperCluster, 100_000, 28, 112},
		{PresetDeeperCluster, 1_000_000, 88, 355},
		{PresetDeepCluster, 100, 1, 3},
		{PresetDeepCluster, 60_000, 1, 1875},
		{PresetRotNet, 100, 3, 1},
		{PresetRotNet, 10, 1, 1},
	}
	for _, c := range cases {
		m, k := c.preset.ShapeFor(c.n)
		if m != c.m || k != c.k {
			t.Errorf("%s on %d images: m=%d k=%d, want m=%d k=%d", c.preset, c.n, m, k, c.m, c.k)
		}
		p := RunParams{Preset: c.preset, M: m, K: k, ReclusterEvery: 1, PCADim: 8}
		if err := p.Validate(c.n); err != nil {
			t.Errorf("%s on %d images: m=%d k=%d invalid: %v", c.preset, c.n, m, k, err)
		}
		if mean := float64(c.n) / float64(m*k); c.n >= 64 && (mean < 20 || mean > 50) {
			t.Errorf("%s on %d images: m=%d k=%d gives sub-clusters of %.1f images on average, want a few dozen", c.preset, c.n, m, k, mean)
		}
	}
}

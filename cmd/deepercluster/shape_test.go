package main

import (
	"testing"

	"github.com/deepercluster/deepercluster"
)

// TestShapeFromFlags: m and k left at 0 come from the number of images,
// the one given is kept, and the presets' fixed 1 wins.
func TestShapeFromFlags(t *testing.T) {
	dc, dp, rn := deepercluster.PresetDeeperCluster, deepercluster.PresetDeepCluster, deepercluster.PresetRotNet
	cases := []struct {
		preset  deepercluster.Preset
		m, k, n int
		wm, wk  int
		chosen  bool
	}{
		{dc, 0, 0, 100, 1, 3, true},
		{dc, 0, 0, 10_000, 9, 35, true},
		{dc, 4, 0, 10_000, 4, 79, true},
		{dc, 0, 10, 10_000, 32, 10, true},
		{dc, 4, 16, 100, 4, 16, false},
		{dp, 0, 0, 1000, 1, 31, true},
		{dp, 0, 50, 1000, 1, 50, false},
		{rn, 0, 0, 1000, 31, 1, true},
		{rn, 8, 0, 1000, 8, 1, false},
	}
	for _, c := range cases {
		m, k, chosen := shapeFromFlags(c.preset, c.m, c.k, c.n)
		if m != c.wm || k != c.wk || chosen != c.chosen {
			t.Errorf("%s --m %d --k %d on %d images: m=%d k=%d chosen %v, want m=%d k=%d chosen %v",
				c.preset, c.m, c.k, c.n, m, k, chosen, c.wm, c.wk, c.chosen)
		}
	}
}

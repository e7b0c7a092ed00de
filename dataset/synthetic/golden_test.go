package synthetic

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/deepercluster/deepercluster"
)

// TestSyntheticPixelsUnchanged pins every rendered pixel of fixed seeds:
// the hashes were taken from the renderer before it was restructured, so a
// refactor that moves a single pixel (and with it every trained checkpoint
// and benchmark figure on the synthetic set) fails here.
func TestSyntheticPixelsUnchanged(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Seed: 1, N: 400, Resolution: 16}, "afbf1add79b1192e2e4a81d1a50846f26f82ce08dfed841c5515534fcf124c21"},
		{Config{Seed: 42, N: 1000, Resolution: 32}, "7ac7af2f2ff09256b1c80ed215d27678de778b5e3fc969d43b40d2b484731dd5"},
		{Config{Seed: -7, N: 600, Resolution: 64}, "17335c9591c0d46183e60ec65b719a1d32d3ade04df34e09b5dca6bea7f377c8"},
	}
	for _, tc := range tests {
		s, err := New(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		seen := map[int]bool{}
		img := make([]byte, deepercluster.ImageBytes(tc.cfg.Resolution))
		for i := range tc.cfg.N {
			if err := s.Image(i, img); err != nil {
				t.Fatal(err)
			}
			h.Write(img)
			l, _ := s.Label(i)
			seen[l] = true
		}
		if len(seen) != s.NumLabels() {
			t.Errorf("%+v renders %d of the %d concepts: the hash would not cover them all", tc.cfg, len(seen), s.NumLabels())
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != tc.want {
			t.Errorf("%+v: pixels hash to %s, want %s", tc.cfg, got, tc.want)
		}
	}
}

// TestScenePhotoPixelsUnchanged pins the generated photos the folder tests
// and bench/photos draw, for the same reason.
func TestScenePhotoPixelsUnchanged(t *testing.T) {
	h := sha256.New()
	for kind := range len(SceneKinds) {
		for seed := range uint64(3) {
			h.Write(ScenePhoto(kind, seed, 64, 48).Pix)
		}
	}
	if got, want := hex.EncodeToString(h.Sum(nil)), "24aaf3977eb9a596edfc8926604987a640093ca98ee376de00f5dbc69d4a77cb"; got != want {
		t.Errorf("scene photos hash to %s, want %s", got, want)
	}
}

// TestEveryShapeHasAPart checks that shapeParts names a function for every
// shape kind: a kind added to the constants but not to the table would
// panic on the first pixel of its concept.
func TestEveryShapeHasAPart(t *testing.T) {
	if len(shapeParts) != int(shDiamond)+1 {
		t.Fatalf("shapeParts has %d entries for %d shape kinds", len(shapeParts), shDiamond+1)
	}
	for s, f := range shapeParts {
		if f == nil {
			t.Errorf("shape kind %d has no part function", s)
		}
	}
}

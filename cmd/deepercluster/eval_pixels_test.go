package main

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster/dataset/source"
)

// TestWithPixels checks the rows --refine-pixels hands the refinement
// (pixelBlock through refineRows):
// each image's features at unit length, then its whitened pixel
// components at length weight, and clear errors for a bad dimension or a
// feature matrix that does not match the images.
func TestWithPixels(t *testing.T) {
	ctx := context.Background()
	ds, err := source.Open(source.SpecSynthetic, source.Options{N: 40, Resolution: 16, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	const n, d = 40, 5
	feats := make([]float32, n*d)
	for i := range feats {
		feats[i] = float32(i%7) + 0.5
	}
	withPixels := func(feats []float32, n, dim int, weight float64) ([]float32, int, error) {
		b, err := pixelBlock(ctx, ds, dim, weight)
		if err != nil {
			return nil, 0, err
		}
		return refineRows(ctx, feats, n, d, []rowBlock{b})
	}
	norm := func(v []float32) float64 {
		var s float64
		for _, x := range v {
			s += float64(x) * float64(x)
		}
		return math.Sqrt(s)
	}
	for _, tc := range []struct {
		dim    int
		weight float64
	}{{dim: 4, weight: 1}, {dim: 12, weight: 0.5}, {dim: 1, weight: 2}} {
		rows, width, err := withPixels(feats, n, tc.dim, tc.weight)
		if err != nil {
			t.Fatalf("dim %d: %v", tc.dim, err)
		}
		if width != d+tc.dim || len(rows) != n*width {
			t.Fatalf("dim %d: %d columns, %d values; want %d and %d", tc.dim, width, len(rows), d+tc.dim, n*(d+tc.dim))
		}
		differ := false
		for i := range n {
			row := rows[i*width : (i+1)*width]
			if f := norm(row[:d]); math.Abs(f-1) > 1e-5 {
				t.Fatalf("dim %d row %d: features' length %v, want 1", tc.dim, i, f)
			}
			if p := norm(row[d:]); math.Abs(p-tc.weight) > 1e-4 {
				t.Fatalf("dim %d row %d: pixels' length %v, want the weight %v", tc.dim, i, p, tc.weight)
			}
			if i > 0 && row[d] != rows[d] {
				differ = true
			}
		}
		if !differ {
			t.Errorf("dim %d: every image has the same first pixel component %v", tc.dim, rows[d])
		}
	}
	for _, tc := range []struct {
		name string
		n    int
		dim  int
		want string
	}{
		{"dimension 0", n, 0, "--refine-pixels-dim"},
		{"more dimensions than pixel values", n, 3*16*16 + 1, "--refine-pixels-dim"},
		{"fewer feature rows than images", n - 1, 4, "--refine-pixels: 30720 values for 39 rows of 768"},
	} {
		if _, _, err := withPixels(feats[:tc.n*d], tc.n, tc.dim, 1); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
}

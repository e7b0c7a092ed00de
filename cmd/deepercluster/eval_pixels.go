package main

import (
	"context"
	"fmt"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/cluster"
)

// withPixels returns the rows the refinement clusters when
// --refine-pixels is set: each scored image's features (n x d),
// L2-normalised, followed by its own pixels PCA-whitened to dim
// dimensions (fitted on the scored images, labels unseen, as the
// refinement is) and scaled by weight, dim+d columns in all.
//
// It exists because the learnt features and the pixels find different
// neighbours: on Fashion-MNIST's validation split the 20 nearest
// neighbours share an image's class 75.7% of the time in the features,
// 75.8% in the whitened pixels and 78.3% in both together
// (docs/QUALITY.md, "Pixels beside the features").
func withPixels(ctx context.Context, feats []float32, n, d int, ds deepercluster.Dataset, dim int, weight float64) ([]float32, int, error) {
	if ds.Len() != n {
		return nil, 0, fmt.Errorf("--refine-pixels: %d feature rows for %d images", n, ds.Len())
	}
	res := ds.Resolution()
	pd := 3 * res * res
	if dim < 1 || dim > pd {
		return nil, 0, fmt.Errorf("--refine-pixels-dim %d: want 1 to %d (the pixel values of a %d px image)", dim, pd, res)
	}
	px := make([]float32, n*pd)
	img := make([]byte, pd)
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		if err := ds.Image(i, img); err != nil {
			return nil, 0, fmt.Errorf("--refine-pixels: image %d: %w", i, err)
		}
		for j, v := range img {
			px[i*pd+j] = float32(v) / 255
		}
	}
	p, err := cluster.FitPCA(ctx, px, n, pd, dim, cluster.PCAOptions{Seed: 1})
	if err != nil {
		return nil, 0, fmt.Errorf("--refine-pixels: %w", err)
	}
	// Apply whitens and normalises each row to unit length.
	z, err := p.Apply(px, n)
	if err != nil {
		return nil, 0, fmt.Errorf("--refine-pixels: %w", err)
	}
	w := float32(weight)
	out := make([]float32, n*(d+dim))
	for i := range n {
		row := out[i*(d+dim) : (i+1)*(d+dim)]
		copy(row[:d], feats[i*d:(i+1)*d])
		cluster.Normalise(row[:d])
		for j, v := range z[i*dim : (i+1)*dim] {
			row[d+j] = w * v
		}
	}
	return out, d + dim, nil
}

package main

import (
	"context"
	"fmt"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/cluster"
)

// rowBlock is a block of columns the refinement clusters beside the
// features: n rows of d values (the images' pixels, or a convolution
// stage's activations), PCA-whitened to dim dimensions, fitted on the
// scored images (labels unseen, as the refinement is), each row then at
// unit length and scaled by weight.
type rowBlock struct {
	name   string // for errors: "--refine-pixels", "--refine-stages: stage 2"
	x      []float32
	d, dim int
	weight float64
}

// refineRows returns the rows the refinement clusters: each scored
// image's features (n x d), L2-normalised, followed by each block
// whitened as rowBlock says, d plus the blocks' dims columns in all.
//
// Blocks exist because the learnt features are not the purest
// neighbourhoods there are: on Fashion-MNIST's validation split the 20
// nearest neighbours share an image's class 75.7% of the time in the
// features, 75.8% in the whitened pixels and 78.3% in both together, and
// 79.5% in the network's own second convolution stage, whitened
// (docs/QUALITY.md, "Pixels beside the features" and "The network's
// convolution stages beside the features").
func refineRows(ctx context.Context, feats []float32, n, d int, blocks []rowBlock) ([]float32, int, error) {
	width := d
	z := make([][]float32, len(blocks))
	for i, b := range blocks {
		if b.dim < 1 || b.dim > b.d {
			return nil, 0, fmt.Errorf("%s: %d dimensions: want 1 to %d", b.name, b.dim, b.d)
		}
		if len(b.x) != n*b.d {
			return nil, 0, fmt.Errorf("%s: %d values for %d rows of %d", b.name, len(b.x), n, b.d)
		}
		p, err := cluster.FitPCA(ctx, b.x, n, b.d, b.dim, cluster.PCAOptions{Seed: 1})
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", b.name, err)
		}
		// Apply whitens and normalises each row to unit length.
		if z[i], err = p.Apply(b.x, n); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", b.name, err)
		}
		width += b.dim
	}
	out := make([]float32, n*width)
	for i := range n {
		row := out[i*width : (i+1)*width]
		copy(row[:d], feats[i*d:(i+1)*d])
		cluster.Normalise(row[:d])
		at := d
		for bi, b := range blocks {
			w := float32(b.weight)
			for j, v := range z[bi][i*b.dim : (i+1)*b.dim] {
				row[at+j] = w * v
			}
			at += b.dim
		}
	}
	return out, width, nil
}

// pixelBlock is --refine-pixels' block: the scored images' own pixels
// (all three channels, scaled to [0, 1]), to be whitened to dim
// dimensions and scaled by weight.
func pixelBlock(ctx context.Context, ds deepercluster.Dataset, dim int, weight float64) (rowBlock, error) {
	n, res := ds.Len(), ds.Resolution()
	pd := 3 * res * res
	if dim < 1 || dim > pd {
		return rowBlock{}, fmt.Errorf("--refine-pixels-dim %d: want 1 to %d (the pixel values of a %d px image)", dim, pd, res)
	}
	px := make([]float32, n*pd)
	img := make([]byte, pd)
	for i := range n {
		if err := ctx.Err(); err != nil {
			return rowBlock{}, err
		}
		if err := ds.Image(i, img); err != nil {
			return rowBlock{}, fmt.Errorf("--refine-pixels: image %d: %w", i, err)
		}
		for j, v := range img {
			px[i*pd+j] = float32(v) / 255
		}
	}
	return rowBlock{name: "--refine-pixels", x: px, d: pd, dim: dim, weight: weight}, nil
}

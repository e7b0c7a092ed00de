package trainer

import (
	"context"
	"fmt"

	"github.com/deepercluster/deepercluster"
)

// Feature extraction over a whole dataset, for reclustering, the pipeline
// and eval.

// extractAll gives the features of every image from the run's
// FeatureSource: its network (eval mode, no augmentation, no rotation) or
// the fixed features of a run without one.
func (r *Run) extractAll(ctx context.Context) ([]float32, error) {
	return r.source.Features(ctx, func(done float64) {
		r.setProgress(deepercluster.Progress{Phase: deepercluster.PhaseExtracting, Epoch: r.epoch, Epochs: r.cfg.Epochs, Done: done})
	})
}

// Extractor is what ExtractFeatures needs of a network: every Backend is
// one. Callers that only extract (the pipeline, eval) depend on these two
// methods, not on the training half of Backend.
type Extractor interface {
	// FeatureDim is the length of a feature vector.
	FeatureDim() int
	// Extract writes the features of n NCHW images x into dst (n x
	// FeatureDim), in eval mode, as Backend.Extract.
	Extract(x []float32, n int, dst []float32) error
}

var _ Extractor = Backend(nil)

// ExtractFeatures runs the network over a whole dataset (eval mode, no
// augmentation) in chunks of 256 images and returns the n x FeatureDim
// features; report, when not nil, gets the fraction done. It stops with
// ctx's error between chunks.
func ExtractFeatures(ctx context.Context, net Extractor, ds deepercluster.Dataset, report func(float64)) ([]float32, error) {
	n, res, H := ds.Len(), ds.Resolution(), net.FeatureDim()
	per := 3 * res * res
	const chunk = 256
	raw := make([]byte, per)
	x := make([]float32, chunk*per)
	feats := make([]float32, n*H)
	for off := 0; off < n; off += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := min(chunk, n-off)
		for j := range c {
			if err := ds.Image(off+j, raw); err != nil {
				return nil, fmt.Errorf("extract features: image %d: %w", off+j, err)
			}
			toCHW(x[j*per:(j+1)*per], raw, res)
		}
		if err := net.Extract(x[:c*per], c, feats[off*H:(off+c)*H]); err != nil {
			return nil, fmt.Errorf("extract features: images %d-%d: %w", off, off+c-1, err)
		}
		if report != nil {
			report(float64(off+c) / float64(n))
		}
	}
	return feats, nil
}

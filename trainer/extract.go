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
// ctx's error between chunks (forEachChunk).
func ExtractFeatures(ctx context.Context, net Extractor, ds deepercluster.Dataset, report func(float64)) ([]float32, error) {
	H := net.FeatureDim()
	feats := make([]float32, ds.Len()*H)
	err := forEachChunk(ctx, ds, report, func(x []float32, off, c int) error {
		return net.Extract(x, c, feats[off*H:(off+c)*H])
	})
	if err != nil {
		return nil, err
	}
	return feats, nil
}

// StageExtractor is a network that also gives each convolution stage's
// output (after its max-pool), the mid-level activations beneath the
// features. The CPU backend is one; eval --refine-stages uses it.
type StageExtractor interface {
	Extractor
	// StageDims is the width of each stage's output (side x side x
	// channels), in the order of the stages.
	StageDims() []int
	// ExtractStages writes each stage's output of n NCHW images x into
	// dst[i] (n rows of StageDims()[i]), in eval mode.
	ExtractStages(x []float32, n int, dst [][]float32) error
}

// ExtractStages runs the network over a whole dataset as ExtractFeatures
// does and returns each convolution stage's output, one n x StageDims()[i]
// matrix per stage.
func ExtractStages(ctx context.Context, net StageExtractor, ds deepercluster.Dataset, report func(float64)) ([][]float32, error) {
	dims := net.StageDims()
	out := make([][]float32, len(dims))
	for i, d := range dims {
		out[i] = make([]float32, ds.Len()*d)
	}
	rows := make([][]float32, len(dims))
	err := forEachChunk(ctx, ds, report, func(x []float32, off, c int) error {
		for i, d := range dims {
			rows[i] = out[i][off*d : (off+c)*d]
		}
		return net.ExtractStages(x, c, rows)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// forEachChunk hands fn the images of ds as NCHW floats, 256 at a time
// (x holds c images, the first at index off), and report the fraction
// done. It stops with ctx's error between chunks. The images of the next
// chunk are read (a synthetic set renders them, about a fifteenth of the
// network's time at 32 px) on a goroutine of their own while fn runs on
// the current chunk, so that the kernels do not wait for pixels.
func forEachChunk(ctx context.Context, ds deepercluster.Dataset, report func(float64), fn func(x []float32, off, c int) error) error {
	n, res := ds.Len(), ds.Resolution()
	per := 3 * res * res
	const chunk = 256
	type images struct {
		x      []float32
		off, c int
		err    error
	}
	free := make(chan []float32, 2)
	for range 2 {
		free <- make([]float32, chunk*per)
	}
	ready := make(chan images, 1)
	readCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		defer close(ready)
		raw := make([]byte, per)
		for off := 0; off < n; off += chunk {
			var x []float32
			select {
			case x = <-free:
			case <-readCtx.Done():
				return
			}
			b := images{x: x, off: off, c: min(chunk, n-off)}
			for j := range b.c {
				if err := ds.Image(off+j, raw); err != nil {
					b.err = fmt.Errorf("extract features: image %d: %w", off+j, err)
					break
				}
				toCHW(x[j*per:(j+1)*per], raw, res)
			}
			select {
			case ready <- b:
			case <-readCtx.Done():
				return
			}
			if b.err != nil {
				return
			}
		}
	}()
	for b := range ready {
		if err := ctx.Err(); err != nil {
			return err
		}
		if b.err != nil {
			return b.err
		}
		if err := fn(b.x[:b.c*per], b.off, b.c); err != nil {
			return fmt.Errorf("extract features: images %d-%d: %w", b.off, b.off+b.c-1, err)
		}
		free <- b.x
		if report != nil {
			report(float64(b.off+b.c) / float64(n))
		}
	}
	return ctx.Err()
}

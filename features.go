package deepercluster

import (
	"context"
	"fmt"
)

// Features are the image features one clustering was made from: for every
// image, its row of the n x Dim matrix after PCA with whitening and L2
// normalisation (docs/ARCHITECTURE.md, "The method"), so that the inner
// product of two rows is their cosine similarity and the squared
// Euclidean distance is 2 - 2*cosine. The server keeps the latest to find
// similar images. They cost 4*N*Dim bytes: 256 MB for 1,000,000 images at
// Dim 64, 1 GB at Dim 256.
type Features struct {
	// Version is the Assignment version clustered from these features.
	Version uint32
	// N is the number of images, Dim the length of each row.
	N, Dim int
	// Data is N x Dim, row-major; it must not be modified.
	Data []float32
}

// Row is the feature vector of image i.
func (f *Features) Row(i int) []float32 { return f.Data[i*f.Dim : (i+1)*f.Dim] }

// Validate checks the shape.
func (f *Features) Validate() error {
	if f.N < 0 || f.Dim < 1 || len(f.Data) != f.N*f.Dim {
		return fmt.Errorf("features: %d values for %d images x %d dimensions", len(f.Data), f.N, f.Dim)
	}
	return nil
}

// FeatureObserver is an Observer that also wants the features of each
// clustering. The trainer hands them, right after the Assignment they made
// (OnAssignment first), to observers that implement it; like the other
// events, OnFeatures must return quickly, and the Features must not be
// modified.
type FeatureObserver interface {
	Observer
	OnFeatures(*Features)
}

// TrainingHolder is an Observer that may ask training to wait between
// steps. The server does while it computes a run's first 2D map: clients
// have nothing in place of it, and on a machine of few cores training
// would otherwise take most of them, so that the map of 1,000,000 images
// came minutes later (issue 26). Later maps never hold training: they run
// beside it in the background.
//
// The trainer calls HoldTraining before each step, once the events it
// queued before (the Features of a clustering above all) have reached
// the observer, so an observer that holds from OnFeatures on holds from
// the next step on. HoldTraining returns at once when nothing is held;
// otherwise when the hold ends or ctx is done (the trainer cancels it for
// a recluster request, which is applied, and asks again before the next
// step). A holder must end its hold
// whenever what it waits for will not come (a failed or cancelled
// computation, too few images), or training never goes on.
type TrainingHolder interface {
	Observer
	HoldTraining(ctx context.Context)
}

// Package layout2d lays the images of a clustering out in two dimensions for
// the explorer's map: an approximate k-nearest-neighbour graph of their
// features (NN-descent, started from random-projection trees; exact by
// matrix products where N is small), then a UMAP-style embedding of that
// graph (fuzzy simplicial set weights, PCA initialisation, stochastic
// gradient descent with edge sampling by weight and negative sampling).
//
// Everything is a plain function over explicit data (row-major []float32),
// takes a context.Context for cancellation and a progress callback, is
// deterministic for a seed whatever the number of goroutines, and runs on
// Options.Threads goroutines (par.Threads() by default): the server lays out
// beside training with one. Trustworthiness scores a layout as
// scikit-learn's sklearn.manifold.trustworthiness does.
package layout2d

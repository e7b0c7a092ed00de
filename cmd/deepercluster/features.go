package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset/embeddings"
	"github.com/deepercluster/deepercluster/trainer"
)

// featureFlags are serve's flags for other models' embeddings: with
// --features the run clusters them and never trains (README, "Other
// models' embeddings").
type featureFlags struct {
	path, column string
}

func addFeatureFlags(fs *flag.FlagSet) *featureFlags {
	f := &featureFlags{}
	fs.StringVar(&f.path, "features", "", "cluster these features instead of training: .npy (N x D float32, rows in the dataset's image order) or .parquet (an id column and a list<float> column)")
	fs.StringVar(&f.column, "features-column", embeddings.DefaultColumn, "the Parquet column of the vectors (with --features)")
	return f
}

// load reads the features for ds, nil without --features.
func (f *featureFlags) load(ctx context.Context, ds deepercluster.Dataset) (*trainer.FixedFeatures, error) {
	if f.path == "" {
		return nil, nil
	}
	m, err := embeddings.Load(ctx, f.path, ds, f.column)
	if err != nil {
		return nil, fmt.Errorf("--features: %w", err)
	}
	return &trainer.FixedFeatures{N: m.N, Dim: m.Dim, Data: m.Data, Source: f.path}, nil
}

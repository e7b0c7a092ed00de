package trainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/internal/atomicfile"
)

// Where a reclustering's features come from (docs/ARCHITECTURE.md,
// "Features from the network or from a file"): the run's own network, or
// a fixed matrix that another model computed (`serve --features`), in
// which case the run has no network at all and never trains.

// FeatureSource gives the n x FeatureDim features of every image of the
// run's dataset, in its order, for a reclustering.
type FeatureSource interface {
	// FeatureDim is the length of a feature vector.
	FeatureDim() int
	// Features computes or copies the features; report, when not nil,
	// gets the fraction done. The caller may modify the result.
	Features(ctx context.Context, report func(done float64)) ([]float32, error)
}

// networkFeatures extracts the features with the run's network.
type networkFeatures struct {
	net Extractor
	ds  deepercluster.Dataset
}

func (s networkFeatures) FeatureDim() int { return s.net.FeatureDim() }

func (s networkFeatures) Features(ctx context.Context, report func(float64)) ([]float32, error) {
	return ExtractFeatures(ctx, s.net, s.ds, report)
}

// FixedFeatures are features computed elsewhere (another model's
// embeddings), N x Dim row-major, one row per image of the dataset in its
// order; a run given them (Config.Features) clusters them and never
// trains.
type FixedFeatures struct {
	N, Dim int
	Data   []float32
	// Source names where they came from (a file), for the log and errors.
	Source string
}

// FeatureDim is Dim.
func (f *FixedFeatures) FeatureDim() int { return f.Dim }

// Features returns a copy of Data, so each reclustering starts from the
// features as loaded.
func (f *FixedFeatures) Features(_ context.Context, report func(float64)) ([]float32, error) {
	if report != nil {
		report(1)
	}
	return slices.Clone(f.Data), nil
}

// FeatureRunFile is what a run on fixed features keeps in its run
// directory instead of a checkpoint (it has no network): the parameters
// in force and the latest version, so `serve --features` on the same
// directory goes on from there.
const FeatureRunFile = "features-run.json"

// featureRunState is FeatureRunFile's content.
type featureRunState struct {
	Params  deepercluster.RunParams `json:"params"`
	Version uint32                  `json:"version"`
	Seed    uint64                  `json:"seed"`
	Dim     int                     `json:"dim"`
	Source  string                  `json:"source"`
}

// checkFeatureRunDir refuses to mix a trained run and a run on fixed
// features in one run directory: each would overwrite the other's
// versions.
func checkFeatureRunDir(dir string, fixed bool) error {
	_, ckErr := os.Stat(filepath.Join(dir, CheckpointFile))
	_, frErr := os.Stat(filepath.Join(dir, FeatureRunFile))
	switch {
	case fixed && ckErr == nil:
		return fmt.Errorf("run directory %s holds a trained run (%s): features from a file need a run directory of their own", dir, CheckpointFile)
	case !fixed && frErr == nil:
		return fmt.Errorf("run directory %s holds a run on features from a file (%s): serve it with --features, or train in another run directory", dir, FeatureRunFile)
	}
	return nil
}

// saveFeatureRun writes FeatureRunFile atomically.
func (r *Run) saveFeatureRun() error {
	st := featureRunState{Params: r.params, Seed: r.cfg.Seed, Dim: r.source.FeatureDim()}
	if f, ok := r.source.(*FixedFeatures); ok {
		st.Source = f.Source
	}
	if r.assign != nil {
		st.Version = r.assign.Version
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(r.cfg.Dir, FeatureRunFile), append(b, '\n')); err != nil {
		return fmt.Errorf("trainer: %w", err)
	}
	return nil
}

// restoreFeatureRun continues a run on fixed features from its
// FeatureRunFile: its parameters (which recluster requests may have
// changed) and latest version; none there is a new run.
func (r *Run) restoreFeatureRun() error {
	file := filepath.Join(r.cfg.Dir, FeatureRunFile)
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("trainer: %w", err)
	}
	var st featureRunState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("trainer: %s: %w", file, err)
	}
	if err := st.Params.Validate(r.ds.Len()); err != nil {
		return fmt.Errorf("trainer: %s: %w", file, err)
	}
	if st.Version > 0 {
		a, err := LoadAssignment(r.cfg.Dir, st.Version)
		if err != nil {
			return fmt.Errorf("trainer: %s: %w", file, err)
		}
		if len(a.Super) != r.ds.Len() {
			return fmt.Errorf("trainer: %s: assignment v%d covers %d images, the dataset has %d (another dataset?)", file, a.Version, len(a.Super), r.ds.Len())
		}
		r.assign, r.localSub = a, localSubs(a)
	}
	r.params, r.cfg.Seed = st.Params, st.Seed
	r.log.Info("resumed run on features from a file", "dir", r.cfg.Dir, "version", st.Version, "m", st.Params.M, "k", st.Params.K)
	return nil
}

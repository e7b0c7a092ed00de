package trainer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster"
)

// waitFor polls cond for up to a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReclusterAfterTrainingServed: under TrainAndServe a request after
// the last epoch clusters the final network's features with the new
// parameters (no training step) and publishes the next version; a
// finished run served again does the same; once ctx is done, requests are
// refused again.
func TestReclusterAfterTrainingServed(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyConfig(dir)
	cfg.Epochs = 1
	cases := []struct {
		name string
		m, k int
		want uint32
	}{
		{"after training", 3, 2, 2},
		{"finished run served again", 2, 4, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := NewRun(context.Background(), cfg, synth(t, 64), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.TrainAndServe(ctx) }()
			waitFor(t, "training to end", func() bool { return r.Info().Progress.Phase == deepercluster.PhaseStopped })
			before := r.Info().Version
			steps := len(r.EpochSummaries())
			p := r.Info().Params
			p.M, p.K = c.m, c.k
			if err := r.RequestRecluster(p); err != nil {
				t.Fatalf("request after training: %v", err)
			}
			waitFor(t, "the next version", func() bool { a := r.Assignment(); return a != nil && a.Version > before })
			a := r.Assignment()
			if a.Version != c.want || a.M != c.m || len(a.SubParent) != c.m*c.k || r.Info().Params != p {
				t.Fatalf("after the request: version %d m %d with %d sub-clusters, params %+v; want v%d m %d, %d sub-clusters",
					a.Version, a.M, len(a.SubParent), r.Info().Params, c.want, c.m, c.m*c.k)
			}
			if n := len(r.EpochSummaries()); n != steps {
				t.Fatalf("%d epochs trained after the request, want none", n-steps)
			}
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("TrainAndServe after cancel: %v", err)
			}
			if err := r.RequestRecluster(p); !errors.Is(err, deepercluster.ErrTrainingEnded) {
				t.Fatalf("request once serving stopped: %v, want ErrTrainingEnded", err)
			}
			if v, err := LatestAssignmentVersion(dir); err != nil || v != c.want {
				t.Fatalf("run directory holds up to v%d (%v), want v%d", v, err, c.want)
			}
		})
	}
}

// TestFixedFeaturesRun: a run on fixed features (no network) clusters
// them at once, reclusters on request with other parameters, keeps its
// parameters and version in FeatureRunFile for the next serve, and its run
// directory is refused to a trained run (and the other way round).
func TestFixedFeaturesRun(t *testing.T) {
	dir := t.TempDir()
	ds := synth(t, 64)
	// Features that fall in 4 clear groups (by image index mod 4).
	const dim = 6
	f := &FixedFeatures{N: 64, Dim: dim, Data: make([]float32, 64*dim), Source: "test"}
	for i := range 64 {
		for j := range dim {
			f.Data[i*dim+j] = float32((i*7+j*3)%5) * 0.01
		}
		f.Data[i*dim+i%4] += 10
	}
	cfg := tinyConfig(dir)
	cfg.Features = f
	cfg.Params = deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: 2, K: 2, ReclusterEvery: 1, PCADim: 3}
	steps := []struct {
		name string
		m, k int
		want uint32
	}{
		{"first run", 4, 1, 2},
		{"served again", 1, 4, 3},
	}
	for _, c := range steps {
		r, err := NewRun(context.Background(), cfg, ds, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.TrainAndServe(ctx) }()
		waitFor(t, "the first clustering", func() bool { return r.Info().Progress.Phase == deepercluster.PhaseStopped })
		p := r.Info().Params
		p.M, p.K = c.m, c.k
		if err := r.RequestRecluster(p); err != nil {
			t.Fatalf("%s: request: %v", c.name, err)
		}
		waitFor(t, "the requested version", func() bool { return r.Assignment().Version == c.want })
		a := r.Assignment()
		// The 4 groups of the features are the 4 clusters.
		for i := range 64 {
			if a.Sub[i] != a.Sub[i%4] {
				t.Fatalf("%s: image %d in sub-cluster %d, image %d (same group) in %d", c.name, i, a.Sub[i], i%4, a.Sub[i%4])
			}
		}
		if a.M != c.m || len(a.SubParent) != 4 || len(r.EpochSummaries()) != 0 {
			t.Fatalf("%s: m %d, %d sub-clusters, %d epochs trained; want m %d, 4, none", c.name, a.M, len(a.SubParent), len(r.EpochSummaries()), c.m)
		}
		cancel()
		<-done
		r.Close()
	}
	trained := tinyConfig(dir)
	if _, err := NewRun(context.Background(), trained, ds, nil); err == nil || !strings.Contains(err.Error(), FeatureRunFile) {
		t.Fatalf("a trained run on a features run's directory: %v, want an error naming %s", err, FeatureRunFile)
	}
	other := t.TempDir()
	r, err := NewRun(context.Background(), tinyConfig(other), ds, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.checkpoint(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	cfg.Dir = other
	if _, err := NewRun(context.Background(), cfg, ds, nil); err == nil || !strings.Contains(err.Error(), CheckpointFile) {
		t.Fatalf("features on a trained run's directory: %v, want an error naming %s", err, CheckpointFile)
	}
}

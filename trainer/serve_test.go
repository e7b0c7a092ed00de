package trainer

import (
	"context"
	"errors"
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

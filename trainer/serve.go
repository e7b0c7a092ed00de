package trainer

import (
	"context"
	"fmt"

	"github.com/deepercluster/deepercluster"
)

// After training: a run that is served keeps answering recluster requests
// with its final network (docs/ARCHITECTURE.md, "Recluster at any time").

// TrainAndServe is Train followed, until ctx is done, by a wait that
// applies every recluster request with the network as training left it:
// features, the two-level clustering with the request's parameters, the
// next version, no training step. It is what `serve` runs, so the page's
// recluster form works once training has ended, and on a finished run
// served again (Train then returns at once). It returns Train's error,
// or one wrapping ctx.Err() once ctx is done.
func (r *Run) TrainAndServe(ctx context.Context) error {
	r.mu.Lock()
	r.serving = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.serving, r.ended, r.pending = false, true, nil
		r.mu.Unlock()
	}()
	if err := r.Train(ctx); err != nil {
		return err
	}
	r.log.Info("training finished; a recluster request now clusters the final network's features",
		"epoch", r.epoch, "version", r.Info().Version)
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("trainer: stopped after training: %w", ctx.Err())
		case <-r.wake:
		}
		for r.takePending() {
			err := r.recluster(ctx)
			r.mu.Lock()
			p := r.progress
			r.mu.Unlock()
			p.Phase = deepercluster.PhaseStopped
			r.setProgress(p)
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("trainer: stopped after training: %w", ctx.Err())
				}
				// The run and its last version stay as they were; the
				// server fails the job on the stopped phase.
				r.log.Error("reclustering after training", "err", err)
			}
		}
	}
}

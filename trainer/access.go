package trainer

import (
	"path/filepath"

	"github.com/deepercluster/deepercluster"
)

// What other goroutines (the server, through server.TrainingRun) may ask
// of a run while Train runs: its info, clustering, history and older
// versions, and recluster requests.

// Info describes the run and where it stands.
func (r *Run) Info() deepercluster.RunInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	info := deepercluster.RunInfo{
		ID:         filepath.Base(r.cfg.Dir),
		Dataset:    r.cfg.DatasetName,
		Images:     r.ds.Len(),
		Resolution: r.ds.Resolution(),
		Labels:     r.labels != nil,
		Params:     r.params,
		Progress:   r.progress,
		Started:    r.started,
		Device:     r.cfg.Device,
	}
	if r.assign != nil {
		info.Version = r.assign.Version
	}
	return info
}

// Assignment is the current clustering, nil before the first; it must not
// be modified.
func (r *Run) Assignment() *deepercluster.Assignment {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.assign
}

// RequestRecluster asks for a reclustering with parameters p at the next
// safe point (between two training steps); the epoch then starts over on
// the new clusters. A request that arrives as the last epoch ends is still
// applied before Train returns; one that arrives after it, under
// TrainAndServe, clusters the final network's features without training.
// It fails if p is invalid, a request is pending
// (deepercluster.ErrReclusterPending) or nothing will apply it any more
// (deepercluster.ErrTrainingEnded: Train returned outside TrainAndServe):
// a request is never left to wait for work that will not come.
func (r *Run) RequestRecluster(p deepercluster.RunParams) error {
	if err := p.Validate(r.ds.Len()); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return deepercluster.ErrTrainingEnded
	}
	if r.pending != nil {
		return deepercluster.ErrReclusterPending
	}
	r.pending = &p
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return nil
}

// LoadAssignment reads version v from the run directory (the server's
// flow between versions); the error wraps fs.ErrNotExist when the directory
// does not hold it.
func (r *Run) LoadAssignment(v uint32) (*deepercluster.Assignment, error) {
	return LoadAssignment(r.cfg.Dir, v)
}

// History is what the run has measured since it began, across restarts:
// the step points and the metrics of every reclustering (the run
// directory's history log), for the charts of every client.
func (r *Run) History() deepercluster.History {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hist.Clone()
}

// EpochSummaries lists the summaries of the epochs this process trained.
func (r *Run) EpochSummaries() []EpochSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]EpochSummary(nil), r.history...)
}

func (r *Run) setProgress(p deepercluster.Progress) {
	r.mu.Lock()
	r.progress = p
	r.mu.Unlock()
	r.events.Progress(p)
}

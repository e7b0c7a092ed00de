// Package trainer learns image features with the DeeperCluster method
// (docs/ARCHITECTURE.md, "The method"): a VGG-style convnet trained on rotation x
// cluster targets, reclustered every T epochs with the two-level k-means of
// cluster/, with checkpoints that let a run resume where it stopped
// and events that let the server show it live.
package trainer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/deepercluster/deepercluster"
)

// Run is one training run over one dataset. Its methods are safe to call
// from other goroutines while Train runs (Info, Assignment,
// RequestRecluster); Train itself must not run twice at once.
type Run struct {
	cfg    Config
	ds     deepercluster.Dataset
	events *fanout
	model  Backend // nil on fixed features (Config.Features)
	source FeatureSource
	lr     float64 // the learning rate in use
	// the learning-rate schedule: cfg.LRSchedule from cfg.LR over
	// schedEpochs epochs (a resumed run keeps its checkpoint's)
	schedEpochs int
	hlog        *historyLog
	rng         *rand.Rand
	pcg         *rand.PCG
	labels      []int32 // nil when the dataset has none
	log         *slog.Logger

	// training state, owned by Train
	params         deepercluster.RunParams
	epoch, step    int
	totalSteps     int64 // steps trained in the whole run
	clusteredEpoch int
	lastCk         time.Time
	localSub       []int32 // sub-cluster index of each image inside its super-cluster

	mu       sync.Mutex
	history  []EpochSummary
	assign   *deepercluster.Assignment
	progress deepercluster.Progress
	pending  *deepercluster.RunParams
	started  time.Time
	training bool
	ended    bool // Train returned: requests would never be applied
	serving  bool // TrainAndServe runs: requests after training are applied
	// wake tells TrainAndServe's wait after training that a request came
	wake chan struct{}
	hist deepercluster.History
}

// NewRun opens or creates the run directory cfg.Dir and prepares the model;
// when the directory holds a checkpoint, the run continues from it (its
// parameters, which RequestRecluster may have changed, win over cfg's).
func NewRun(ctx context.Context, cfg Config, ds deepercluster.Dataset, obs deepercluster.Observer) (*Run, error) {
	if ds == nil || ds.Len() == 0 {
		return nil, errors.New("trainer: empty dataset")
	}
	if cfg.Dir == "" {
		return nil, errors.New("trainer: no run directory")
	}
	given := cfg // what the caller set, before defaults: a resume says which of it it ignores
	cfg = cfg.withDefaults(ds.Resolution())
	if cfg.Model.Resolution != ds.Resolution() {
		return nil, fmt.Errorf("trainer: model resolution %d, dataset images are %d px", cfg.Model.Resolution, ds.Resolution())
	}
	if err := cfg.Params.Validate(ds.Len()); err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	if cfg.Features != nil {
		return newFeatureRun(cfg, ds, obs)
	}
	if cfg.Epochs < 0 {
		return nil, fmt.Errorf("trainer: epochs must not be negative, got %d", cfg.Epochs)
	}
	if cfg.LRSchedule != "" && cfg.LRSchedule != LRConstant && cfg.LRSchedule != LRCosine {
		return nil, fmt.Errorf("trainer: learning-rate schedule %q: want %q or %q", cfg.LRSchedule, LRConstant, LRCosine)
	}
	if es := cfg.epochSize(ds); es < cfg.Batch {
		return nil, fmt.Errorf("trainer: an epoch of %d samples is less than one batch of %d", es, cfg.Batch)
	}
	if err := checkFeatureRunDir(cfg.Dir, false); err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("trainer: run directory: %w", err)
	}
	if err := removeStaleTemps(cfg.Dir); err != nil {
		return nil, fmt.Errorf("trainer: run directory: %w", err)
	}
	r := &Run{cfg: cfg, ds: ds, log: cfg.Logger, params: cfg.Params, started: time.Now(), schedEpochs: cfg.Epochs, lastCk: time.Now(),
		wake: make(chan struct{}, 1)}
	r.pcg = rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15)
	r.rng = rand.New(r.pcg)
	newBackend := cfg.NewBackend
	if newBackend == nil {
		newBackend = NewCPUBackend
	}
	model, err := newBackend(BackendConfig{Model: cfg.Model, Batch: cfg.Batch,
		LR: cfg.LR, Momentum: cfg.Momentum, WeightDecay: cfg.WeightDecay, Seed: cfg.Seed})
	if err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	r.model, r.lr = model, cfg.LR
	r.source = networkFeatures{net: model, ds: ds}
	if _, ok := ds.Label(0); ok {
		r.labels = make([]int32, ds.Len())
		for i := range r.labels {
			l, _ := ds.Label(i)
			r.labels[i] = int32(l)
		}
	}
	ck, err := LoadCheckpoint(cfg.Dir)
	switch {
	case errors.Is(err, ErrNoCheckpoint):
		ck = nil
	case err != nil:
		r.model.Close()
		return nil, fmt.Errorf("trainer: %w", err)
	default:
		if err := r.restore(ck, given); err != nil {
			r.model.Close()
			return nil, fmt.Errorf("trainer: resume: %w", err)
		}
		r.log.Info("resumed run", "dir", cfg.Dir, "epoch", r.epoch, "step", r.step, "version", ck.Version,
			"lr_schedule", r.cfg.LRSchedule, "lr", r.lr)
	}
	if r.hlog, r.hist, err = openHistory(cfg.Dir, ck); err != nil {
		r.model.Close()
		return nil, fmt.Errorf("trainer: %w", err)
	}
	r.events = newFanout(obs)
	r.progress = deepercluster.Progress{Phase: deepercluster.PhaseIdle, Epoch: r.epoch, Epochs: cfg.Epochs}
	return r, nil
}

// Close releases the model and delivers the events still queued (waiting
// at most a few seconds for a slow observer).
func (r *Run) Close() {
	r.events.close(5 * time.Second)
	if r.model != nil {
		r.model.Close()
	}
	if err := r.hlog.close(); err != nil {
		r.log.Warn("closing the history log", "err", err)
	}
}

// newFeatureRun is NewRun on fixed features: no network, no training, the
// parameters and version of FeatureRunFile when the directory holds one.
func newFeatureRun(cfg Config, ds deepercluster.Dataset, obs deepercluster.Observer) (*Run, error) {
	f := cfg.Features
	if f.N != ds.Len() || f.Dim < 1 || len(f.Data) != f.N*f.Dim {
		return nil, fmt.Errorf("trainer: features %s: %d x %d (%d values) for a dataset of %d images", f.Source, f.N, f.Dim, len(f.Data), ds.Len())
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("trainer: run directory: %w", err)
	}
	if err := removeStaleTemps(cfg.Dir); err != nil {
		return nil, fmt.Errorf("trainer: run directory: %w", err)
	}
	if err := checkFeatureRunDir(cfg.Dir, true); err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	cfg.Epochs = 0
	r := &Run{cfg: cfg, ds: ds, log: cfg.Logger, params: cfg.Params, started: time.Now(), lastCk: time.Now(),
		wake: make(chan struct{}, 1), source: f}
	r.pcg = rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15)
	r.rng = rand.New(r.pcg)
	if _, ok := ds.Label(0); ok {
		r.labels = make([]int32, ds.Len())
		for i := range r.labels {
			l, _ := ds.Label(i)
			r.labels[i] = int32(l)
		}
	}
	if err := r.restoreFeatureRun(); err != nil {
		return nil, err
	}
	// The history log keeps the metrics of the versions saved (no steps).
	ck := &Checkpoint{}
	if r.assign != nil {
		ck.Version = r.assign.Version
	}
	var err error
	if r.hlog, r.hist, err = openHistory(cfg.Dir, ck); err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	r.events = newFanout(obs)
	r.progress = deepercluster.Progress{Phase: deepercluster.PhaseIdle}
	r.log.Info("run on features from a file: no training", "features", f.Source, "images", f.N, "dim", f.Dim,
		"m", r.params.M, "k", r.params.K)
	return r, nil
}

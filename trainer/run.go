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
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/cluster"
)

// Config is what a run is made of. Zero fields take the defaults of
// (Config).withDefaults.
type Config struct {
	// Dir is the run directory (checkpoint, assignment versions); created
	// if missing. A checkpoint there is resumed.
	Dir string
	// DatasetName is how the dataset was named (for RunInfo).
	DatasetName string
	Params      deepercluster.RunParams
	// Epochs is the total number of epochs of the run (a resumed run
	// stops at the same total).
	Epochs int
	// Batch is the training batch (default 64); ExtractBatch the batch of
	// gorgonia's extraction graph (default 32), which only tests use now:
	// Extract runs the direct forward pass of infer.go in its own chunks.
	Batch, ExtractBatch int
	// EpochSize is the number of samples drawn per epoch; 0 means the
	// dataset size.
	EpochSize int
	// LR, Momentum and WeightDecay drive SGD (defaults 0.05, 0.9, 1e-5 as
	// in the reference code).
	LR, Momentum, WeightDecay float64
	// LRSchedule is how the learning rate changes over the run: "" or
	// LRConstant keeps LR; LRCosine anneals it from LR to 0 along a half
	// cosine over all steps of all Epochs (the reference code keeps it
	// constant; annealing steadies the features of short runs).
	LRSchedule string
	Seed       uint64
	// Model shapes the network; a zero Model means
	// DefaultModelConfig(dataset resolution).
	Model ModelConfig
	// NoAugment turns off random crops and flips (rotation stays).
	NoAugment bool
	// KMeansIters is passed to the clustering engine (0: its default).
	KMeansIters int
	// PCASample fits PCA on at most this many rows (0: all).
	PCASample int
	// CheckpointEvery is the most time between two checkpoints inside an
	// epoch (besides the one at each epoch's end), so a kill loses at most
	// that much training: 0 means DefaultCheckpointEvery, a negative value
	// checkpoints at epoch ends only.
	CheckpointEvery time.Duration
	// Logger receives epoch summaries; nil means slog.Default().
	Logger *slog.Logger
	// NewBackend makes the model; nil means NewCPUBackend.
	NewBackend NewBackendFunc
}

// DefaultCheckpointEvery is Config.CheckpointEvery's default.
const DefaultCheckpointEvery = 5 * time.Minute

// Learning-rate schedules (Config.LRSchedule).
const (
	LRConstant = "constant"
	LRCosine   = "cosine"
)

// lrAt is the learning rate of a step done a fraction t in [0,1] of the
// way through the schedule.
func lrAt(schedule string, lr, t float64) float64 {
	if schedule == LRCosine {
		return lr * 0.5 * (1 + math.Cos(math.Pi*min(max(t, 0), 1)))
	}
	return lr
}

// DefaultParams are DeeperCluster's run parameters scaled to small data.
func DefaultParams() deepercluster.RunParams {
	return deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: 4, K: 16, ReclusterEvery: 3, PCADim: 64}
}

func (c Config) withDefaults(res int) Config {
	if c.Params == (deepercluster.RunParams{}) {
		c.Params = DefaultParams()
	}
	if c.Batch == 0 {
		c.Batch = 64
	}
	if c.ExtractBatch == 0 {
		c.ExtractBatch = 32
	}
	if c.LR == 0 {
		c.LR = 0.05
	}
	if c.Momentum == 0 {
		c.Momentum = 0.9
	}
	if c.WeightDecay == 0 {
		c.WeightDecay = 1e-5
	}
	if c.Model == (ModelConfig{}) {
		c.Model = DefaultModelConfig(res)
	}
	if c.LRSchedule == "" {
		c.LRSchedule = LRConstant
	}
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = DefaultCheckpointEvery
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Run is one training run over one dataset. Its methods are safe to call
// from other goroutines while Train runs (Info, Assignment,
// RequestRecluster); Train itself must not run twice at once.
type Run struct {
	cfg    Config
	ds     deepercluster.Dataset
	events *fanout
	model  Backend
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
	hist     deepercluster.History
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
	if cfg.Epochs < 0 {
		return nil, fmt.Errorf("trainer: epochs must not be negative, got %d", cfg.Epochs)
	}
	if cfg.LRSchedule != "" && cfg.LRSchedule != LRConstant && cfg.LRSchedule != LRCosine {
		return nil, fmt.Errorf("trainer: learning-rate schedule %q: want %q or %q", cfg.LRSchedule, LRConstant, LRCosine)
	}
	if es := cfg.epochSize(ds); es < cfg.Batch {
		return nil, fmt.Errorf("trainer: an epoch of %d samples is less than one batch of %d", es, cfg.Batch)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("trainer: run directory: %w", err)
	}
	if err := removeStaleTemps(cfg.Dir); err != nil {
		return nil, fmt.Errorf("trainer: run directory: %w", err)
	}
	r := &Run{cfg: cfg, ds: ds, log: cfg.Logger, params: cfg.Params, started: time.Now(), schedEpochs: cfg.Epochs, lastCk: time.Now()}
	r.pcg = rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15)
	r.rng = rand.New(r.pcg)
	newBackend := cfg.NewBackend
	if newBackend == nil {
		newBackend = NewCPUBackend
	}
	model, err := newBackend(BackendConfig{Model: cfg.Model, Batch: cfg.Batch, ExtractBatch: cfg.ExtractBatch,
		LR: cfg.LR, Momentum: cfg.Momentum, WeightDecay: cfg.WeightDecay, Seed: cfg.Seed})
	if err != nil {
		return nil, fmt.Errorf("trainer: %w", err)
	}
	r.model, r.lr = model, cfg.LR
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

func (c Config) epochSize(ds deepercluster.Dataset) int {
	if c.EpochSize > 0 {
		return c.EpochSize
	}
	return ds.Len()
}

// Close releases the model and delivers the events still queued (waiting
// at most a few seconds for a slow observer).
func (r *Run) Close() {
	r.events.close(5 * time.Second)
	r.model.Close()
	if err := r.hlog.close(); err != nil {
		r.log.Warn("closing the history log", "err", err)
	}
}

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
// applied before Train returns. It fails if p is invalid, a request is
// pending (deepercluster.ErrReclusterPending) or Train has returned
// (deepercluster.ErrTrainingEnded): a request is never left to wait for
// training that will not come.
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
	return nil
}

func (r *Run) setProgress(p deepercluster.Progress) {
	r.mu.Lock()
	r.progress = p
	r.mu.Unlock()
	r.events.Progress(p)
}

func (r *Run) rotation() bool { return r.params.Preset != deepercluster.PresetDeepCluster }

// Train runs until the configured epochs are done or ctx is cancelled. On
// cancellation it stops at the next safe point (between steps, or inside a
// reclustering, which is then dropped), writes a checkpoint and returns an
// error wrapping ctx.Err().
func (r *Run) Train(ctx context.Context) (err error) {
	r.mu.Lock()
	if r.training {
		r.mu.Unlock()
		return errors.New("trainer: Train is already running")
	}
	r.training, r.ended = true, false
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.training = false
		// Nothing applies a request once Train is gone, so none may wait;
		// one left by a cancel (the process is stopping) is dropped.
		r.ended, r.pending = true, nil
		p := r.progress
		r.mu.Unlock()
		p.Phase = deepercluster.PhaseStopped
		r.setProgress(p)
	}()
	stop := func() error {
		if cerr := r.checkpoint(); cerr != nil {
			return errors.Join(ctx.Err(), cerr)
		}
		return fmt.Errorf("trainer: stopped at epoch %d step %d: %w", r.epoch, r.step, ctx.Err())
	}
	for r.epoch < r.cfg.Epochs {
		if ctx.Err() != nil {
			return stop()
		}
		if r.assign == nil || (r.step == 0 && r.epoch-r.clusteredEpoch >= r.params.ReclusterEvery) || r.takePending() {
			if err := r.recluster(ctx); err != nil {
				if ctx.Err() != nil {
					return stop()
				}
				return err
			}
		}
		done, err := r.trainEpoch(ctx)
		if err != nil {
			return err
		}
		if !done {
			if ctx.Err() != nil {
				return stop()
			}
			continue // a reclustering was requested: start the epoch over
		}
		r.epoch++
		r.step = 0
		if err := r.checkpoint(); err != nil {
			return err
		}
	}
	// A request that came during the last steps is still applied: the
	// clustering runs without more training.
	for r.takePending() {
		if err := r.recluster(ctx); err != nil {
			if ctx.Err() != nil {
				return stop()
			}
			return err
		}
	}
	return nil
}

// takePending applies a pending RequestRecluster's parameters.
func (r *Run) takePending() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		return false
	}
	r.params = *r.pending
	r.pending = nil
	return true
}

func (r *Run) hasPending() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pending != nil
}

// epochSeed makes each epoch's draw a pure function of the run seed, the
// assignment version and the epoch, so that a resumed run redraws the very
// same epoch and continues at its step.
func (r *Run) epochSeed() uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%d/%d", r.cfg.Seed, r.assign.Version, r.epoch)
	return h.Sum64()
}

// trainEpoch runs the steps of the current epoch from r.step. It returns
// false when it stopped early at a safe point (cancel or recluster request).
func (r *Run) trainEpoch(ctx context.Context) (bool, error) {
	a := r.assign
	order := cluster.SampleUniform(a.Sub, len(a.SubParent), r.cfg.epochSize(r.ds), r.epochSeed())
	B := r.cfg.Batch
	steps := len(order) / B
	res := r.ds.Resolution()
	per := 3 * res * res
	smp := newSampler(res, !r.cfg.NoAugment)
	batch := &Batch{X: make([]float32, B*per), Super: make([]int, B), Sub: make([]int, B)}
	rot := r.rotation()
	var sum StepStats
	var n int
	t0 := time.Now()
	winStart, winImages := time.Now(), 0
	ips := 0.0
	for r.step < steps {
		if ctx.Err() != nil || r.hasPending() {
			return false, nil
		}
		for j := range B {
			i := int(order[r.step*B+j])
			if err := r.ds.Image(i, smp.raw); err != nil {
				return false, fmt.Errorf("trainer: image %d: %w", i, err)
			}
			q := 0
			if rot {
				q = r.rng.IntN(4)
			}
			smp.sample(batch.X[j*per:(j+1)*per], smp.raw, q, r.rng)
			batch.Super[j], batch.Sub[j] = targets(a.Super[i], r.localSub[i], q, rot)
		}
		if r.cfg.LRSchedule == LRCosine {
			r.lr = lrAt(r.cfg.LRSchedule, r.cfg.LR, (float64(r.epoch)+float64(r.step)/float64(steps))/float64(r.schedEpochs))
			r.model.SetLR(r.lr)
		}
		st, err := r.model.Step(batch)
		if err != nil {
			return false, fmt.Errorf("trainer: epoch %d step %d: %w", r.epoch, r.step, err)
		}
		r.step++
		r.totalSteps++
		n++
		r.mu.Lock()
		r.hist.AddStep(r.epoch, st.LossSuper, st.LossSub, st.PrecSuper, st.PrecSub)
		r.mu.Unlock()
		if err := r.hlog.add(stepRecord(r.totalSteps, r.epoch, st)); err != nil {
			return false, fmt.Errorf("trainer: %w", err)
		}
		sum.LossSuper += st.LossSuper
		sum.LossSub += st.LossSub
		sum.PrecSuper += st.PrecSuper
		sum.PrecSub += st.PrecSub
		winImages += B
		if el := time.Since(winStart).Seconds(); el > 1 || ips == 0 {
			ips = float64(winImages) / el
			winStart, winImages = time.Now(), 0
		}
		r.setProgress(deepercluster.Progress{
			Phase: deepercluster.PhaseTraining, Epoch: r.epoch, Epochs: r.cfg.Epochs,
			Step: r.step, Steps: steps, Done: float64(r.step) / float64(steps),
			LossSuper: st.LossSuper, LossSub: st.LossSub, PrecSuper: st.PrecSuper, PrecSub: st.PrecSub,
			ImagesPerSec: ips,
		})
		// Inside the epoch too, so that a kill loses at most
		// CheckpointEvery of training; a resume redraws the same order
		// (epochSeed) and goes on at this step.
		if r.cfg.CheckpointEvery > 0 && r.step < steps && time.Since(r.lastCk) >= r.cfg.CheckpointEvery {
			if err := r.checkpoint(); err != nil {
				return false, err
			}
		}
	}
	if n > 0 {
		f := 1 / float64(n)
		es := EpochSummary{Epoch: r.epoch, Steps: n, LossSuper: sum.LossSuper * f, LossSub: sum.LossSub * f,
			PrecSuper: sum.PrecSuper * f, PrecSub: sum.PrecSub * f,
			ImagesPerSec: float64(n*B) / time.Since(t0).Seconds(), Version: a.Version}
		r.mu.Lock()
		r.history = append(r.history, es)
		r.mu.Unlock()
		r.log.Info("epoch done", "epoch", r.epoch+1, "of", r.cfg.Epochs, "steps", n,
			"loss_super", round4(es.LossSuper), "loss_sub", round4(es.LossSub),
			"prec_super", round4(es.PrecSuper), "prec_sub", round4(es.PrecSub),
			"images_per_sec", math.Round(es.ImagesPerSec), "version", a.Version)
	}
	return true, nil
}

// EpochSummary is the mean of one epoch's steps.
type EpochSummary struct {
	Epoch, Steps       int
	LossSuper, LossSub float64
	PrecSuper, PrecSub float64
	ImagesPerSec       float64
	Version            uint32
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

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// targets gives a sample's super-class and sub-class (docs/ARCHITECTURE.md, "The method"):
// with rotation the super-class is s = 4*c + r over 4m classes, without it
// is c; the sub-class is the sample's sub-cluster inside c, shared by the
// four rotations.
func targets(c, z int32, r int, rotation bool) (super, sub int) {
	if rotation {
		return 4*int(c) + r, int(z)
	}
	return int(c), int(z)
}

// headShape is the number of super-classes and the sub-head width for an
// assignment: k is the largest number of sub-clusters of a super-cluster
// (fewer when the engine clamped it).
func headShape(a *deepercluster.Assignment, rotation bool) (s, k int) {
	counts := make([]int, a.M)
	for _, p := range a.SubParent {
		counts[p]++
	}
	for _, c := range counts {
		k = max(k, c)
	}
	s = a.M
	if rotation {
		s *= 4
	}
	return s, k
}

// localSubs numbers each image's sub-cluster inside its super-cluster, in
// the order of the global ids.
func localSubs(a *deepercluster.Assignment) []int32 {
	local := make([]int32, len(a.SubParent))
	next := make([]int32, a.M)
	for j, p := range a.SubParent {
		local[j] = next[p]
		next[p]++
	}
	out := make([]int32, len(a.Sub))
	for i, z := range a.Sub {
		out[i] = local[z]
	}
	return out
}

// recluster extracts features, runs the two-level clustering, saves and
// announces the new Assignment version and re-creates the heads. Nothing of
// the run changes unless it completes.
func (r *Run) recluster(ctx context.Context) error {
	p := r.params
	prev := r.assign
	n := r.ds.Len()
	next := uint32(1)
	if prev != nil {
		next = prev.Version + 1
	}
	r.log.Info("reclustering", "version", next, "epoch", r.epoch, "preset", p.Preset, "m", p.M, "k", p.K)
	var a *deepercluster.Assignment
	var clustered *deepercluster.Features
	if p.M == 1 && p.K == 1 {
		// RotNet without clusters: one trivial cluster, no extraction.
		a = &deepercluster.Assignment{Super: make([]int32, n), Sub: make([]int32, n), M: 1, SubParent: []int32{0}}
	} else {
		feats, err := r.extractAll(ctx)
		if err != nil {
			return err
		}
		report := func(ph deepercluster.Phase, done float64) {
			r.setProgress(deepercluster.Progress{Phase: ph, Epoch: r.epoch, Epochs: r.cfg.Epochs, Done: done})
		}
		version := uint32(1)
		if prev != nil {
			version = prev.Version + 1
		}
		res, err := cluster.Hierarchy(ctx, feats, n, r.model.FeatureDim(), cluster.HierarchyConfig{
			Preset: p.Preset, M: p.M, K: p.K, PCADim: p.PCADim, Iters: r.cfg.KMeansIters,
			Seed: r.cfg.Seed ^ uint64(version)*0x9e3779b97f4a7c15, PCASample: r.cfg.PCASample, Logger: r.log,
		}, report)
		if err != nil {
			return fmt.Errorf("trainer: reclustering: %w", err)
		}
		a = res.Assignment
		clustered = &deepercluster.Features{N: n, Dim: res.Dim, Data: res.Features}
		// Keep cluster ids stable across versions (a renaming, not a change of
		// the partition): small deltas for clients and index updates.
		cluster.Align(prev, a)
	}
	a.Version = 1
	if prev != nil {
		a.Version = prev.Version + 1
	}
	if err := SaveAssignment(r.cfg.Dir, a); err != nil {
		return fmt.Errorf("trainer: %w", err)
	}
	s, k := headShape(a, r.rotation())
	if err := r.model.SetHeads(s, k, r.rng); err != nil {
		return fmt.Errorf("trainer: %w", err)
	}
	m := deepercluster.Metrics{Version: a.Version, Epoch: r.epoch, StabilityNMI: cluster.StabilityNMI(prev, a),
		LabelNMI: math.NaN(), LabelARI: math.NaN(), LabelPurity: math.NaN()}
	if r.labels != nil {
		m.LabelNMI = cluster.NMI(a.Sub, r.labels)
		m.LabelARI = cluster.ARI(a.Sub, r.labels)
		m.LabelPurity = cluster.Purity(a.Sub, r.labels)
	}
	// Logged before the checkpoint that names the version, so the history
	// log always covers the checkpoint.
	if err := r.hlog.add(metricsRecord(m)); err != nil {
		return fmt.Errorf("trainer: %w", err)
	}
	r.mu.Lock()
	r.assign = a
	r.hist.AddMetrics(m)
	r.mu.Unlock()
	r.localSub = localSubs(a)
	r.clusteredEpoch = r.epoch
	r.step = 0
	if err := r.checkpoint(); err != nil {
		return err
	}
	r.events.Assignment(a)
	if clustered != nil {
		clustered.Version = a.Version
		r.events.Features(clustered)
	}
	r.events.Metrics(m)
	supers, _ := a.Sizes()
	largest := 0
	for _, c := range supers {
		largest = max(largest, c)
	}
	r.log.Info("reclustered", "version", a.Version, "epoch", r.epoch, "m", a.M, "subclusters", len(a.SubParent),
		"stability_nmi", round4(m.StabilityNMI), "label_nmi", round4(m.LabelNMI), "largest_super_share", round4(float64(largest)/float64(n)))
	return nil
}

// extractAll computes the features of every image: eval mode, no
// augmentation, no rotation.
func (r *Run) extractAll(ctx context.Context) ([]float32, error) {
	return ExtractFeatures(ctx, r.model, r.ds, func(done float64) {
		r.setProgress(deepercluster.Progress{Phase: deepercluster.PhaseExtracting, Epoch: r.epoch, Epochs: r.cfg.Epochs, Done: done})
	})
}

// ExtractFeatures runs the network over a whole dataset (eval mode, no
// augmentation) and returns the n x FeatureDim features; report, when not
// nil, gets the fraction done.
func ExtractFeatures(ctx context.Context, net Backend, ds deepercluster.Dataset, report func(float64)) ([]float32, error) {
	n, res, H := ds.Len(), ds.Resolution(), net.FeatureDim()
	per := 3 * res * res
	const chunk = 256
	raw := make([]byte, per)
	x := make([]float32, chunk*per)
	feats := make([]float32, n*H)
	for off := 0; off < n; off += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := min(chunk, n-off)
		for j := range c {
			if err := ds.Image(off+j, raw); err != nil {
				return nil, fmt.Errorf("image %d: %w", off+j, err)
			}
			toCHW(x[j*per:(j+1)*per], raw, res)
		}
		if err := net.Extract(x[:c*per], c, feats[off*H:(off+c)*H]); err != nil {
			return nil, err
		}
		if report != nil {
			report(float64(off+c) / float64(n))
		}
	}
	return feats, nil
}

// checkpoint saves the whole training state at a safe point, after the
// history log that it covers.
func (r *Run) checkpoint() error {
	if err := r.hlog.sync(); err != nil {
		return fmt.Errorf("trainer: checkpoint: %w", err)
	}
	r.lastCk = time.Now()
	st, err := r.model.State()
	if err != nil {
		return fmt.Errorf("trainer: checkpoint: %w", err)
	}
	rng, err := r.pcg.MarshalBinary()
	if err != nil {
		return err
	}
	ck := &Checkpoint{Model: r.cfg.Model, Params: r.params, Seed: r.cfg.Seed, Epoch: r.epoch, Step: r.step,
		ClusteredEpoch: r.clusteredEpoch, RNG: rng, LR: r.lr, HeadS: st.HeadS, HeadK: st.HeadK, Tensors: st.Tensors,
		LRSchedule: r.cfg.LRSchedule, BaseLR: r.cfg.LR, ScheduleEpochs: r.schedEpochs, TotalSteps: r.totalSteps}
	if r.assign != nil {
		ck.Version = r.assign.Version
	}
	if err := SaveCheckpoint(r.cfg.Dir, ck); err != nil {
		return fmt.Errorf("trainer: %w", err)
	}
	return nil
}

// restore loads a checkpoint into the freshly built run; given is the
// configuration as the caller set it, before defaults.
func (r *Run) restore(ck *Checkpoint, given Config) error {
	file := filepath.Join(r.cfg.Dir, CheckpointFile)
	// The state first: a model of another shape is named by its first
	// tensor that does not fit.
	if err := r.model.LoadState(ck.State()); err != nil {
		return fmt.Errorf("checkpoint %s: %w", file, err)
	}
	if ck.Model != r.cfg.Model {
		// Same tensor shapes but another architecture option (Sobel).
		return fmt.Errorf("checkpoint %s: model %+v, this run wants %+v", file, ck.Model, r.cfg.Model)
	}
	if err := ck.Params.Validate(r.ds.Len()); err != nil {
		return fmt.Errorf("checkpoint %s: %w", file, err)
	}
	var a *deepercluster.Assignment
	if ck.Version > 0 {
		var err error
		if a, err = LoadAssignment(r.cfg.Dir, ck.Version); err != nil {
			return err
		}
		if len(a.Super) != r.ds.Len() {
			return fmt.Errorf("assignment v%d covers %d images, the dataset has %d (another dataset?)", a.Version, len(a.Super), r.ds.Len())
		}
		if s, k := headShape(a, ck.Params.Preset != deepercluster.PresetDeepCluster); s != ck.HeadS || k != ck.HeadK {
			return fmt.Errorf("checkpoint %s: heads %dx%d do not fit assignment v%d (%dx%d)", file, ck.HeadS, ck.HeadK, a.Version, s, k)
		}
	}
	if err := r.pcg.UnmarshalBinary(ck.RNG); err != nil {
		return fmt.Errorf("checkpoint %s: rng state: %w", file, err)
	}
	if ck.LRSchedule != "" {
		// The schedule and its position are the run's: a resume by
		// `serve`, or without the flags, goes on along the same curve.
		// Flags that say otherwise are ignored, and the log says so.
		if (given.LRSchedule != "" && given.LRSchedule != ck.LRSchedule) || (given.LR != 0 && given.LR != ck.BaseLR) ||
			(ck.LRSchedule == LRCosine && r.cfg.Epochs != ck.ScheduleEpochs) {
			r.log.Warn("resume keeps the checkpoint's learning-rate schedule; the flags that differ are ignored",
				"dir", r.cfg.Dir, "lr_schedule", ck.LRSchedule, "lr", ck.BaseLR, "schedule_epochs", ck.ScheduleEpochs,
				"ignored_lr_schedule", given.LRSchedule, "ignored_lr", given.LR, "epochs", r.cfg.Epochs)
		}
		r.cfg.LRSchedule, r.cfg.LR, r.schedEpochs = ck.LRSchedule, ck.BaseLR, ck.ScheduleEpochs
	}
	if ck.LR > 0 {
		r.lr = ck.LR
		r.model.SetLR(r.lr)
	}
	r.totalSteps = ck.TotalSteps
	if ck.Seed != r.cfg.Seed {
		// The seed draws every epoch's order: the run keeps its own.
		r.log.Warn("resume keeps the checkpoint's seed", "dir", r.cfg.Dir, "seed", ck.Seed, "ignored_seed", r.cfg.Seed)
		r.cfg.Seed = ck.Seed
	}
	r.params = ck.Params
	r.epoch, r.step, r.clusteredEpoch = ck.Epoch, ck.Step, ck.ClusteredEpoch
	if a != nil {
		r.assign = a
		r.localSub = localSubs(a)
	}
	return nil
}

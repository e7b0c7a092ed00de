package trainer

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/deepercluster/deepercluster"
)

// A run's checkpoint and its restore on resume (the file format is
// checkpoint.go's).

// checkpoint saves the whole training state at a safe point, after the
// history log that it covers.
func (r *Run) checkpoint() error {
	if err := r.hlog.sync(); err != nil {
		return fmt.Errorf("trainer: checkpoint: %w", err)
	}
	r.lastCk = time.Now()
	if r.model == nil {
		return r.saveFeatureRun()
	}
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

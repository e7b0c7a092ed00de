package trainer

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/cluster"
)

// The training loop: epochs of label-uniform draws, steps through the
// Backend, reclustering every ReclusterEvery epochs or on request.

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
		// Under TrainAndServe its wait applies them, and ends the run.
		if !r.serving || ctx.Err() != nil {
			r.ended, r.pending = true, nil
		}
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
	if r.assign == nil {
		// A run on fixed features trains no epoch: its first clustering.
		if err := r.recluster(ctx); err != nil {
			if ctx.Err() != nil {
				return stop()
			}
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
	// Its signal is spent: a stale one would end the next hold of
	// training (fanout.hold) for nothing.
	select {
	case <-r.wake:
	default:
	}
	return true
}

func (r *Run) hasPending() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pending != nil
}

func (r *Run) rotation() bool { return r.params.Preset != deepercluster.PresetDeepCluster }

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
	smp := newSampler(res, !r.cfg.NoAugment, r.cfg.StrongAugment, !r.cfg.NoFlip)
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
		// The server holds training while it computes the run's first
		// map (deepercluster.TrainingHolder); a recluster request (a
		// signal on r.wake, r.pending the request itself) ends the wait.
		// The wait is no training time, so the speeds leave it out.
		if held := r.events.hold(ctx, r.wake); held > 0 {
			t0, winStart = t0.Add(held), winStart.Add(held)
			if ctx.Err() != nil || r.hasPending() {
				return false, nil
			}
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

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

package trainer

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/deepercluster/deepercluster"
)

// killPoint is a dataset that, when the run it feeds has trained a given
// number of steps, copies the run directory: a SIGKILL at that moment
// leaves exactly those files (images are read on the training goroutine,
// between two writes, never during one).
type killPoint struct {
	deepercluster.Dataset
	run    **Run
	at     int64 // copy once totalSteps reaches this
	to     string
	then   func() // after the copy: stop the run
	once   sync.Once
	copied bool
	err    error
}

func (k *killPoint) Image(i int, dst []byte) error {
	if r := *k.run; r != nil && r.totalSteps >= k.at {
		k.once.Do(func() { k.err = copyDir(r.cfg.Dir, k.to); k.copied = true; k.then() })
	}
	return k.Dataset.Image(i, dst)
}

func copyDir(from, to string) error {
	return filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

func sameHistory(t *testing.T, got, want deepercluster.History) {
	t.Helper()
	if got.Stride != want.Stride || len(got.Steps) != len(want.Steps) || len(got.Metrics) != len(want.Metrics) {
		t.Fatalf("history: stride %d, %d points, %d metrics; want %d, %d, %d", got.Stride, len(got.Steps), len(got.Metrics),
			want.Stride, len(want.Steps), len(want.Metrics))
	}
	for i := range want.Steps {
		if got.Steps[i] != want.Steps[i] {
			t.Fatalf("history point %d: %+v, want %+v", i, got.Steps[i], want.Steps[i])
		}
	}
	eq := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
	for i, w := range want.Metrics {
		g := got.Metrics[i]
		if g.Version != w.Version || g.Epoch != w.Epoch || !eq(g.StabilityNMI, w.StabilityNMI) || !eq(g.LabelNMI, w.LabelNMI) ||
			!eq(g.LabelARI, w.LabelARI) || !eq(g.LabelPurity, w.LabelPurity) {
			t.Fatalf("history metrics %d: %+v, want %+v", i, g, w)
		}
	}
}

// TestKilledMidEpochResumesSameRun: a cosine run checkpointed inside its
// epochs (CheckpointEvery), "killed" mid-epoch and resumed without the
// schedule flags (as `serve` resumes it) or with other ones, ends with the
// very weights and history of the run that was never interrupted.
func TestKilledMidEpochResumesSameRun(t *testing.T) {
	ds := synth(t, 128) // 4 steps per epoch
	base := tinyConfig("")
	base.Epochs = 3
	base.LRSchedule = LRCosine
	base.Params.ReclusterEvery = 1

	ref := base
	ref.Dir = t.TempDir()
	ref.CheckpointEvery = -1
	r, err := NewRun(context.Background(), ref, ds, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	want, err := r.model.State()
	if err != nil {
		t.Fatal(err)
	}
	wantHist := r.History()
	r.Close()
	if len(wantHist.Steps) != 12 || len(wantHist.Metrics) != 3 {
		t.Fatalf("uninterrupted run's history: %d points, %d metrics; want 12 and 3", len(wantHist.Steps), len(wantHist.Metrics))
	}

	for _, tc := range []struct {
		name      string
		given     Config // the schedule flags of the resume
		at        int64  // steps trained when killed
		wantWarn  bool
		junkAfter bool // a crash also left records past the checkpoint and a torn line
	}{
		{"resumed as serve does, without schedule flags", Config{}, 6, false, false},
		{"resumed with another schedule", Config{LRSchedule: LRConstant, LR: 0.2}, 5, true, true},
		{"resumed with other epochs", Config{LRSchedule: LRCosine, Epochs: 3}, 9, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			cfg.Dir = t.TempDir()
			cfg.CheckpointEvery = 1 // every step: no timing in the test
			killed := filepath.Join(t.TempDir(), "killed")
			var run *Run
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			kp := &killPoint{Dataset: ds, run: &run, at: tc.at, to: killed, then: cancel}
			run, err = NewRun(ctx, cfg, kp, nil)
			if err != nil {
				t.Fatal(err)
			}
			run.Train(ctx)
			run.Close()
			if !kp.copied || kp.err != nil {
				t.Fatalf("no copy of the run directory at step %d: %v", tc.at, kp.err)
			}
			ck, err := LoadCheckpoint(killed)
			if err != nil {
				t.Fatal(err)
			}
			if ck.TotalSteps != tc.at || ck.Step == 0 {
				t.Fatalf("the kill at step %d left a checkpoint at epoch %d step %d (%d steps): no checkpoint inside the epoch",
					tc.at, ck.Epoch, ck.Step, ck.TotalSteps)
			}
			if tc.junkAfter {
				f, _ := os.OpenFile(filepath.Join(killed, HistoryFile), os.O_APPEND|os.O_WRONLY, 0)
				f.Write(stepRecord(ck.TotalSteps+1, 7, StepStats{LossSuper: 99}))
				f.Write(metricsRecord(deepercluster.Metrics{Version: ck.Version + 1, LabelNMI: 0.99}))
				f.Write([]byte("s 12 1 0.5 0.")) // torn
				f.Close()
			}

			var logs bytes.Buffer
			res := base
			res.Dir = killed
			res.CheckpointEvery = -1
			res.LRSchedule, res.LR = tc.given.LRSchedule, tc.given.LR
			if tc.given.Epochs != 0 {
				res.Epochs = tc.given.Epochs
			}
			res.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			r2, err := NewRun(context.Background(), res, ds, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r2.step != ck.Step || r2.epoch != ck.Epoch || r2.cfg.LRSchedule != LRCosine || r2.cfg.LR != base.LR {
				t.Fatalf("resumed at epoch %d step %d with %s from %g; the checkpoint: epoch %d step %d, cosine from %g",
					r2.epoch, r2.step, r2.cfg.LRSchedule, r2.cfg.LR, ck.Epoch, ck.Step, base.LR)
			}
			warned := strings.Contains(logs.String(), "resume keeps the checkpoint's learning-rate schedule")
			if warned != tc.wantWarn {
				t.Fatalf("warning logged %v, want %v:\n%s", warned, tc.wantWarn, logs.String())
			}
			if tc.wantWarn && (!strings.Contains(logs.String(), "lr_schedule=cosine") || !strings.Contains(logs.String(), "ignored_lr_schedule=constant")) {
				t.Fatalf("the warning does not say what it keeps and ignores:\n%s", logs.String())
			}
			if err := r2.Train(context.Background()); err != nil {
				t.Fatal(err)
			}
			got, err := r2.model.State()
			if err != nil {
				t.Fatal(err)
			}
			sameState(t, got, want)
			sameHistory(t, r2.History(), wantHist)
			r2.Close()
			// A restart reads the same history back from the run directory.
			r3, err := NewRun(context.Background(), res, ds, nil)
			if err != nil {
				t.Fatal(err)
			}
			sameHistory(t, r3.History(), wantHist)
			r3.Close()
		})
	}
}

// TestReclusterAfterTrainingEnded: once Train has returned, a request is
// refused with ErrTrainingEnded instead of waiting for ever.
func TestReclusterAfterTrainingEnded(t *testing.T) {
	cfg := tinyConfig(t.TempDir())
	cfg.Epochs = 1
	r, err := NewRun(context.Background(), cfg, synth(t, 64), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := cfg.Params
	p.M = 3
	if err := r.RequestRecluster(p); !errors.Is(err, deepercluster.ErrTrainingEnded) {
		t.Fatalf("request after training: %v, want ErrTrainingEnded", err)
	}
	// Resumed with its epochs done, Train returns at once: same answer.
	r2, err := NewRun(context.Background(), cfg, synth(t, 64), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if err := r2.RequestRecluster(p); err != nil {
		t.Fatalf("request before Train: %v", err)
	}
	if err := r2.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a := r2.Assignment(); a.M != 3 || a.Version != 2 {
		t.Fatalf("a request accepted before Train, with the epochs done, made version %d with m %d; want it applied (v2, m 3)", a.Version, a.M)
	}
	if err := r2.RequestRecluster(p); !errors.Is(err, deepercluster.ErrTrainingEnded) {
		t.Fatalf("request after training: %v, want ErrTrainingEnded", err)
	}
}

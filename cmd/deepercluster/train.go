package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset/fashionmnist"
	"github.com/deepercluster/deepercluster/gpu"
	"github.com/deepercluster/deepercluster/internal/runlock"
	"github.com/deepercluster/deepercluster/server"
	"github.com/deepercluster/deepercluster/trainer"
)

// barObserver draws a run's progress as a bar on stderr, or, where stderr
// is not a terminal, logs it as lines (lines, see progress.go). It runs on
// the trainer's event goroutine, never on the training loop.
type barObserver struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	lines *progressLines // nil on a terminal
	// dir and log: where OnFeatures keeps the features, for `export
	// --features` (export.go).
	dir   string
	log   *slog.Logger
	phase deepercluster.Phase
	epoch int
}

func (b *barObserver) OnProgress(p deepercluster.Progress) {
	if b.lines != nil {
		b.logProgress(p)
		return
	}
	if b.bar == nil || p.Phase != b.phase || p.Epoch != b.epoch {
		if b.bar != nil {
			_ = b.bar.Finish()
			fmt.Fprintln(b.w)
		}
		b.phase, b.epoch = p.Phase, p.Epoch
		max := 1000
		desc := fmt.Sprintf("epoch %d/%d %s", p.Epoch+1, p.Epochs, p.Phase)
		if p.Phase == deepercluster.PhaseTraining {
			max = p.Steps
		}
		b.bar = progressbar.NewOptions(max, progressbar.OptionSetWriter(b.w), progressbar.OptionSetDescription(desc),
			progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond))
	}
	if p.Phase == deepercluster.PhaseTraining {
		b.bar.Describe(fmt.Sprintf("epoch %d/%d training loss %.3f/%.3f prec %.2f/%.2f %.0f img/s",
			p.Epoch+1, p.Epochs, p.LossSuper, p.LossSub, p.PrecSuper, p.PrecSub, p.ImagesPerSec))
		_ = b.bar.Set(p.Step)
		return
	}
	_ = b.bar.Set(int(p.Done * 1000))
}

func (b *barObserver) OnAssignment(*deepercluster.Assignment) {}
func (b *barObserver) OnMetrics(deepercluster.Metrics)        {}

// runTrain trains a network on a dataset from the command line; it resumes
// from --out when that directory holds a checkpoint.
func runTrain(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "train")
	dsName := fs.String("dataset", "synthetic", "dataset: synthetic, fashion-mnist, mnist, a dataset directory or a folder of photos (ingested into <out>/dataset)")
	out := fs.String("out", "", "run directory (created; resumed if it holds a checkpoint)")
	seed := fs.Uint64("seed", 1, "random seed")
	rf := addRunFlags(fs, 10)
	dsFlags := addDatasetFlags(fs)
	maxImages := fs.Int("max-images", 0, "train on the first N images only (0: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("train: --out RUNDIR is required")
	}
	// Before anything reads or writes the directory.
	lock, err := runlock.Acquire(*out)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer lock.Release()
	ds, err := dsFlags.open(ctx, a, *dsName, *out, fashionmnist.Train)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if *maxImages > 0 && *maxImages < ds.Len() {
		ds = subset{ds, 0, *maxImages}
	}
	params, err := rf.params(ds.Len())
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	model, err := rf.model(ds.Resolution())
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	comp, err := gpu.OpenCompute(*rf.device, a.log)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer comp.Close()
	rf.logChosen(a.log, ds.Len(), params)
	cfg := withCompute(rf.trainerConfig(trainer.Config{
		Dir: *out, DatasetName: *dsName, Params: params, Seed: *seed, Logger: a.log, Model: model,
	}), comp)
	// The features this run keeps for export (barObserver.OnFeatures):
	// temporaries an earlier kill left go before the first write.
	if err := server.RemoveInterruptedWrites(*out); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	obs := newBarObserver(a, *out)
	run, err := trainer.NewRun(ctx, cfg, ds, obs)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer run.Close()
	a.log.Info("training", "dataset", *dsName, "images", ds.Len(), "preset", params.Preset, "m", params.M, "k", params.K, "epochs", rf.epochs, "out", *out)
	start := time.Now()
	err = run.Train(ctx)
	if errors.Is(err, context.Canceled) {
		a.log.Info("stopped; run again with the same --out to resume", "out", *out)
		return nil
	}
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	info := run.Info()
	a.log.Info("training done", "minutes", time.Since(start).Minutes(), "version", info.Version, "out", *out)
	return nil
}

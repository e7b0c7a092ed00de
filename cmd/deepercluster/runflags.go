package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/trainer"
)

// runFlags are the method, model and schedule flags that `train` and
// `serve` share, with the trainer's defaults, so that a run started by one
// can be resumed by the other with the same flags.
type runFlags struct {
	fs                          *flag.FlagSet
	preset                      string
	m, k, every, pcaDim, epochs int
	width, depth, convs, hidden int
	sobel                       bool
	batch, epochSize            int
	lr                          float64
	lrSchedule                  string
	checkpointEvery             time.Duration
	augmentStrong               bool
	noFlip                      bool
	refineSuper                 bool
	device                      *string
	// chosen says that params picked m or k from the number of images
	// (deepercluster.Preset.ShapeFor), for the log.
	chosen bool
}

// shapeFromFlags fills the m and k the flags leave at 0 from the number
// of images n (deepercluster.Preset.ShapeFor): both from the rule, or the
// missing one so that the sub-clusters still hold about
// deepercluster.ImagesPerSubcluster images on average; the deepcluster
// and rotnet presets fix m or k to 1. chosen is whether the rule was used.
func shapeFromFlags(preset deepercluster.Preset, m, k, n int) (int, int, bool) {
	rm, rk := preset.ShapeFor(n)
	total := float64(rm * rk)
	switch {
	case m == 0 && k == 0:
		return rm, rk, true
	case m == 0 && preset == deepercluster.PresetDeepCluster:
		return 1, k, false
	case k == 0 && preset == deepercluster.PresetRotNet:
		return m, 1, false
	case m == 0:
		return min(max(1, int(math.Round(total/float64(k)))), max(n, 1)), k, true
	case k == 0:
		return m, max(1, int(math.Round(total/float64(m)))), true
	}
	return m, k, false
}

// logChosen says, for a new run, that m and k come from the collection's
// size (a resumed run keeps its checkpoint's, which the run's log names).
func (f *runFlags) logChosen(log *slog.Logger, n int, p deepercluster.RunParams) {
	if f.chosen {
		log.Info("m and k chosen from the number of images (--m/--k set them)", "images", n, "m", p.M, "k", p.K,
			"subclusters", p.M*p.K, "images_per_subcluster", math.Round(float64(n)/float64(p.M*p.K)))
	}
}

func addRunFlags(fs *flag.FlagSet, epochs int) *runFlags {
	def := trainer.DefaultParams()
	mdl := trainer.DefaultModelConfig(0)
	f := &runFlags{fs: fs}
	fs.StringVar(&f.preset, "preset", string(def.Preset), "method: deepercluster, deepcluster or rotnet")
	fs.IntVar(&f.m, "m", 0, "number of super-clusters (deepcluster: 1; 0: from the number of images, sub-clusters of about 32 images)")
	fs.IntVar(&f.k, "k", 0, "number of sub-clusters per super-cluster (rotnet: 1; 0: from the number of images)")
	fs.IntVar(&f.every, "recluster-every", def.ReclusterEvery, "recluster every T epochs")
	fs.IntVar(&f.pcaDim, "pca-dim", def.PCADim, "PCA dimensions before k-means")
	fs.IntVar(&f.epochs, "epochs", epochs, "total training epochs")
	fs.IntVar(&f.width, "width", mdl.Width, "channels of the first conv stage")
	fs.IntVar(&f.depth, "depth", 0, "number of conv stages, each ending in a 2x2 max-pool (0: by resolution, 3 up to 64 px, 4 above)")
	fs.IntVar(&f.convs, "convs", mdl.ConvsPerStage, "convolutions per stage")
	fs.IntVar(&f.hidden, "hidden", mdl.Hidden, "width of the fc layers (the feature dimension)")
	fs.BoolVar(&f.sobel, "sobel", mdl.Sobel, "fixed Sobel front end")
	fs.IntVar(&f.batch, "batch", 0, "training batch size (0: the trainer's default, 64)")
	fs.IntVar(&f.epochSize, "epoch-size", 0, "samples per epoch (0: the dataset's size)")
	fs.Float64Var(&f.lr, "lr", 0, "learning rate (0: the run's own when resuming, else 0.05)")
	fs.StringVar(&f.lrSchedule, "lr-schedule", "", "learning-rate schedule: constant, or cosine (anneal to 0 over --epochs); empty: the run's own when resuming, else constant")
	fs.BoolVar(&f.augmentStrong, "augment-strong", false, "stronger augmentation: random resized crops and brightness/contrast jitter instead of the shift (a lever of issue 28, not yet validated; the PyTorch peer does not mirror it)")
	fs.BoolVar(&f.noFlip, "no-flip", false, "no horizontal flips in the augmentation (the shift or crop stays): for data whose mirror images are other shapes, such as digits (a lever of issue 28; the PyTorch peer mirrors it with --no-flip)")
	fs.BoolVar(&f.refineSuper, "refine-super", false, "super-clusters of every reclustering by the neighbour-consistency refinement instead of k-means (a lever of issue 28, scored lower on validation and not kept; about 1.5 minutes more per reclustering of 50,000 images; the PyTorch peer does not mirror it)")
	f.device = addDeviceFlag(fs)
	fs.DurationVar(&f.checkpointEvery, "checkpoint-every", trainer.DefaultCheckpointEvery, "also checkpoint inside an epoch this often, so a kill loses at most this much training (0: at epoch ends only)")
	return f
}

// trainerConfig is the part of the trainer's configuration that the run
// flags set.
func (f *runFlags) trainerConfig(cfg trainer.Config) trainer.Config {
	cfg.Epochs, cfg.Batch, cfg.EpochSize = f.epochs, f.batch, f.epochSize
	cfg.LR, cfg.LRSchedule = f.lr, f.lrSchedule
	cfg.CheckpointEvery = f.checkpointEvery
	cfg.StrongAugment = f.augmentStrong
	cfg.RefineSuper = f.refineSuper
	cfg.NoFlip = f.noFlip
	if f.checkpointEvery == 0 {
		cfg.CheckpointEvery = -1
	}
	return cfg
}

// params checks the method flags against a dataset of n images. The
// deepcluster and rotnet presets fix m or k to 1 unless given.
func (f *runFlags) params(n int) (deepercluster.RunParams, error) {
	preset, err := deepercluster.ParsePreset(f.preset)
	if err != nil {
		return deepercluster.RunParams{}, fmt.Errorf("--preset: %w", err)
	}
	p := deepercluster.RunParams{Preset: preset, M: f.m, K: f.k, ReclusterEvery: f.every, PCADim: f.pcaDim}
	p.M, p.K, f.chosen = shapeFromFlags(preset, f.m, f.k, n)
	if err := p.Validate(n); err != nil {
		var fe *deepercluster.FieldError
		if errors.As(err, &fe) {
			return p, fmt.Errorf("--%s: %s", strings.ReplaceAll(fe.Field, "_", "-"), fe.Msg)
		}
		return p, err
	}
	if f.epochs < 1 {
		return p, fmt.Errorf("--epochs must be at least 1, got %d", f.epochs)
	}
	if f.batch < 0 || f.epochSize < 0 {
		return p, errors.New("--batch and --epoch-size must not be negative")
	}
	if f.lr < 0 || math.IsNaN(f.lr) || math.IsInf(f.lr, 0) {
		return p, fmt.Errorf("--lr must be a positive number, got %v", f.lr)
	}
	if f.lrSchedule != "" && f.lrSchedule != trainer.LRConstant && f.lrSchedule != trainer.LRCosine {
		return p, fmt.Errorf("--lr-schedule %q: want %s or %s", f.lrSchedule, trainer.LRConstant, trainer.LRCosine)
	}
	if f.checkpointEvery < 0 {
		return p, fmt.Errorf("--checkpoint-every must not be negative, got %v", f.checkpointEvery)
	}
	return p, nil
}

// model is the network the model flags describe, for images of side res.
func (f *runFlags) model(res int) (trainer.ModelConfig, error) {
	depth := f.depth
	if depth == 0 {
		depth = trainer.DefaultDepth(res)
	}
	m := trainer.ModelConfig{Resolution: res, Width: f.width, Depth: depth, ConvsPerStage: f.convs, Hidden: f.hidden, Sobel: f.sobel}
	if err := m.Validate(); err != nil {
		return m, fmt.Errorf("model flags: %w", err)
	}
	return m, nil
}

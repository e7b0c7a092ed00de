package trainer

import (
	"log/slog"
	"math"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/cluster"
)

// What a run is made of: Config, its defaults, and the learning-rate
// schedules.

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
	// Batch is the training batch (default 64). Extraction needs no batch
	// setting: ExtractFeatures hands the backend fixed chunks of images.
	Batch int
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
	// StrongAugment replaces the shift by a random resized crop and adds
	// brightness and contrast jitter (augmentStrong): a lever of issue 28
	// to try on the validation split, off by default and not yet
	// validated; the PyTorch peer does not mirror it.
	StrongAugment bool
	// NoFlip turns off the horizontal flip of both augmentations (the
	// shift or crop stays): a mirrored digit or letter is another shape,
	// so the flip teaches the network an invariance such data does not
	// have. A lever of issue 28; the PyTorch peer mirrors it (--no-flip).
	NoFlip bool
	// RefineSuper makes every reclustering's super-clusters those of the
	// neighbour-consistency refinement (cluster.HierarchyConfig.RefineSuper,
	// at the settings of Run.refineSuper) instead of k-means': a lever of
	// issue 28, off by default and not kept (lower on validation,
	// docs/QUALITY.md); the PyTorch peer does not mirror it.
	RefineSuper bool
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
	// Features, when set, are the features every reclustering clusters
	// (another model's embeddings): the run has no network, trains no
	// epoch (Epochs, Batch and the model fields are ignored) and keeps
	// FeatureRunFile instead of a checkpoint.
	Features *FixedFeatures
	// KMeans, when set, runs the reclustering's k-means steps on the
	// device of a GPU backend (cluster.HierarchyConfig.Engine); nil runs
	// them on the CPU.
	KMeans cluster.Engine
	// Device describes what NewBackend computes on, for RunInfo (the
	// page's header and /api/run).
	Device deepercluster.DeviceInfo
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

func (c Config) epochSize(ds deepercluster.Dataset) int {
	if c.EpochSize > 0 {
		return c.EpochSize
	}
	return ds.Len()
}

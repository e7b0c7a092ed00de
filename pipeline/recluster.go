package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/deepercluster/deepercluster/dataset"
	"github.com/deepercluster/deepercluster/gpu"
	"github.com/deepercluster/deepercluster/internal/runlock"
	"github.com/deepercluster/deepercluster/trainer"
)

func init() {
	register.DoFn2x1[context.Context, int, error](&extractFn{})
}

// ReclusterConfig configures Recluster.
type ReclusterConfig struct {
	// RunDir is the run directory: its checkpoint gives the network, and
	// the new Assignment version is stored there.
	RunDir string
	// Dataset is the sharded dataset the run trains on.
	Dataset string
	// Work holds the per-shard features and labels between stages;
	// empty means <RunDir>/pipeline-work. Workers must see it.
	Work string
	// M, K and PCADim override the checkpoint's parameters where not 0.
	M, K, PCADim int
	// PCASample is how many rows PCA is fitted on; 0 means 100,000.
	PCASample int
	// Iters is the Lloyd iterations per level; 0 means cluster.DefaultIters.
	Iters int
	// Seed 0 derives the seed from the checkpoint's seed and the new
	// version, as the trainer does.
	Seed uint64
	// Runner is where the pipelines run.
	Runner Runner
	// Device is where the features are extracted, a --device value
	// (gpu.OpenCompute: auto, cpu, cuda, opencl); empty means auto. Each
	// worker opens its own.
	Device string
	// Logger gets a line per stage; nil means slog.Default().
	Logger *slog.Logger
}

// ReclusterResult reports a reclustering.
type ReclusterResult struct {
	// Version is the Assignment version stored in the run directory.
	Version uint32
	// Images is the number of images clustered.
	Images int
	// FeatureDim is the network's feature dimension.
	FeatureDim int
	// Extract and Cluster are the wall-clock times of the two stages.
	Extract, Cluster time.Duration
	KMeans           *KMeansResult
}

// extractFn computes one shard's features with the run's network
// (trainer.LoadBackend on the backend Device names) and stores them in the
// work directory. It only extracts, so it keeps the network as a
// trainer.Extractor.
type extractFn struct {
	RunDir, Dataset string
	Shards          []string
	Out             Features
	Device          string

	net   trainer.Extractor
	close func() error // frees net, then its device
}

// Setup loads the network once per worker, on the worker's device.
func (f *extractFn) Setup() error {
	comp, net, err := loadNet(f.RunDir, f.Device, nil)
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	f.net = net
	f.close = func() error { return errors.Join(net.Close(), comp.Close()) }
	return nil
}

// loadNet opens the device a --device value names and loads the run's
// network on it; the caller closes the network, then the device.
func loadNet(runDir, dev string, log *slog.Logger) (*gpu.Compute, trainer.Backend, error) {
	if dev == "" {
		dev = "auto"
	}
	comp, err := gpu.OpenCompute(dev, log)
	if err != nil {
		return nil, nil, err
	}
	net, _, err := trainer.LoadBackend(runDir, trainer.LoadOptions{NewBackend: comp.NewBackend})
	if err != nil {
		comp.Close()
		return nil, nil, err
	}
	return comp, net, nil
}

// Teardown frees the network.
func (f *extractFn) Teardown() error {
	if f.close != nil {
		return f.close()
	}
	return nil
}

// ProcessElement extracts shard s.
func (f *extractFn) ProcessElement(ctx context.Context, s int) error {
	d, err := dataset.OpenDir(filepath.Join(f.Dataset, f.Shards[s]))
	if err != nil {
		return fmt.Errorf("shard %d: %w", s, err)
	}
	defer d.Close()
	feats, err := trainer.ExtractFeatures(ctx, f.net, d, nil)
	if err != nil {
		return fmt.Errorf("shard %d: %w", s, err)
	}
	return f.Out.WriteShard(s, feats)
}

// Recluster runs one DeeperCluster reclustering of a run on a sharded
// dataset as Beam pipelines: features per shard with the run's network,
// then ClusterFeatures; the Assignment becomes the run's next version
// (trainer.AdoptAssignment), which `serve` and `train` resume with. The
// run directory is locked meanwhile, so it must not be in use.
func Recluster(ctx context.Context, cfg ReclusterConfig) (*ReclusterResult, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.RunDir == "" || cfg.Dataset == "" {
		return nil, errors.New("pipeline recluster needs a run directory and a sharded dataset")
	}
	if err := cfg.Runner.Validate(); err != nil {
		return nil, err
	}
	lock, err := runlock.Acquire(cfg.RunDir)
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	ck, err := trainer.LoadCheckpoint(cfg.RunDir)
	if err != nil {
		return nil, err
	}
	sd, err := dataset.OpenSharded(cfg.Dataset)
	if err != nil {
		return nil, err
	}
	man := sd.Manifest()
	sd.Close()
	if man.Resolution != ck.Model.Resolution {
		return nil, fmt.Errorf("dataset %s has %d px images, the run's network takes %d px", cfg.Dataset, man.Resolution, ck.Model.Resolution)
	}
	work := cfg.Work
	if work == "" {
		work = filepath.Join(cfg.RunDir, "pipeline-work")
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	// The device is opened here once first, so that a --device with no
	// such device fails before any pipeline runs.
	comp, net, err := loadNet(cfg.RunDir, cfg.Device, log)
	if err != nil {
		return nil, err
	}
	dim := net.FeatureDim()
	net.Close()
	comp.Close()
	names := make([]string, len(man.Shards))
	rows := make([]int, len(man.Shards))
	for i, s := range man.Shards {
		names[i], rows[i] = s.Dir, s.Images
	}
	feats := Features{Work: work, Prefix: "features", Rows: rows, Dim: dim}
	res := &ReclusterResult{Images: man.Images, FeatureDim: dim}

	start := time.Now()
	p, s := beam.NewPipelineWithRoot()
	beam.ParDo0(s.Scope("extract"), &extractFn{RunDir: cfg.RunDir, Dataset: cfg.Dataset, Shards: names, Out: feats, Device: cfg.Device},
		beam.Reshuffle(s, beam.CreateList(s, seq(len(names)))))
	log.Info("pipeline recluster: extracting features", "images", man.Images, "shards", len(names), "runner", cfg.Runner.label())
	if err := cfg.Runner.Execute(ctx, p); err != nil {
		return nil, fmt.Errorf("extract features: %w", err)
	}
	res.Extract = time.Since(start)

	params := ck.Params
	kc := KMeansConfig{Preset: params.Preset, M: params.M, K: params.K, PCADim: params.PCADim, PCASample: cfg.PCASample,
		Iters: cfg.Iters, Seed: cfg.Seed, Runner: cfg.Runner, Logger: log}
	if cfg.M > 0 {
		kc.M = cfg.M
	}
	if cfg.K > 0 {
		kc.K = cfg.K
	}
	if cfg.PCADim > 0 {
		kc.PCADim = cfg.PCADim
	}
	if kc.PCASample == 0 {
		kc.PCASample = 100_000
	}
	latest, err := trainer.LatestAssignmentVersion(cfg.RunDir)
	if err != nil {
		return nil, err
	}
	next := max(latest, ck.Version) + 1
	if kc.Seed == 0 {
		kc.Seed = ck.Seed ^ uint64(next)*0x9e3779b97f4a7c15
	}
	start = time.Now()
	km, err := ClusterFeatures(ctx, feats, kc)
	if err != nil {
		return nil, err
	}
	res.Cluster = time.Since(start)
	res.KMeans = km
	if res.Version, err = trainer.AdoptAssignment(cfg.RunDir, km.Assignment); err != nil {
		return nil, err
	}
	log.Info("pipeline recluster: stored", "version", res.Version, "m", km.Assignment.M, "subclusters", len(km.Assignment.SubParent),
		"extract", res.Extract.Round(time.Millisecond), "cluster", res.Cluster.Round(time.Millisecond))
	return res, nil
}

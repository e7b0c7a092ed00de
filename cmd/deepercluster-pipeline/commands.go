package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/deepercluster/deepercluster/pipeline"
)

// runnerFlags are the flags every subcommand takes to pick its runner.
type runnerFlags struct {
	name, endpoint, envType, envConfig *string
}

func addRunnerFlags(fs *flag.FlagSet) runnerFlags {
	return runnerFlags{
		name:      fs.String("runner", pipeline.RunnerPrism, "where pipelines run: prism (in this process) or universal (a portable job server: Flink, Spark)"),
		endpoint:  fs.String("endpoint", "", "job server HOST:PORT for --runner universal (Flink: 8099; Spark: 8099)"),
		envType:   fs.String("environment-type", "", "how a portable runner starts workers: DOCKER, PROCESS or LOOPBACK (Beam's default when empty)"),
		envConfig: fs.String("environment-config", "", "the worker container image (DOCKER) or boot command (PROCESS)"),
	}
}

func (r runnerFlags) runner() pipeline.Runner {
	return pipeline.Runner{Name: *r.name, Endpoint: *r.endpoint, EnvironmentType: *r.envType, EnvironmentConfig: *r.envConfig}
}

// runIngest is `deepercluster ingest`'s YFCC100M path as a Beam pipeline.
func runIngest(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "ingest")
	yfcc := fs.String("yfcc", "", "YFCC100M metadata file (23 or 25 tab-separated columns)")
	images := fs.String("images", "", "folder of images, flat (<photoid>.jpg) or by hash (<h[0:3]>/<h[3:6]>/<hash>.jpg)")
	autotags := fs.String("autotags", "", "optional YFCC100M autotags file (photoid<TAB>concept:prob,...)")
	size := fs.Int("size", 32, "model resolution in pixels (images are center-cropped and resized to size x size)")
	out := fs.String("out", "", "sharded dataset to create (a directory: shards.json and shard-NNNNN/)")
	shards := fs.Int("shards", 4, "number of shards (each a dataset directory)")
	force := fs.Bool("force", false, "replace an existing sharded dataset at --out")
	rf := addRunnerFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("ingest: unexpected arguments %q", fs.Args())
	}
	start := time.Now()
	m, err := pipeline.Ingest(ctx, pipeline.IngestConfig{YFCC: *yfcc, Images: *images, AutoTags: *autotags, Size: *size,
		Out: *out, Shards: *shards, Replace: *force, Runner: rf.runner(), Logger: a.log})
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	fmt.Fprintf(a.stdout, "ingested %d images into %d shards at %s in %s: %d lines, %d bad, %d images missing (%d corrupt)\n",
		m.Images, len(m.Shards), *out, time.Since(start).Round(time.Millisecond), m.Lines, m.BadLines, m.MissingImages, m.CorruptImages)
	return nil
}

// runRecluster reclusters a run on its sharded dataset.
func runRecluster(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "recluster")
	runDir := fs.String("data-dir", "", "run directory (checkpoint.bin; the new assignment version is stored there); not in use by serve or train")
	ds := fs.String("dataset", "", "the run's sharded dataset")
	work := fs.String("work", "", "work directory for features and labels between stages (default <data-dir>/pipeline-work); workers must see it")
	m := fs.Int("m", 0, "super-clusters (0: the checkpoint's)")
	k := fs.Int("k", 0, "sub-clusters per super-cluster (0: the checkpoint's)")
	pcaDim := fs.Int("pca-dim", 0, "PCA dimension (0: the checkpoint's)")
	pcaSample := fs.Int("pca-sample", 100_000, "rows PCA is fitted on")
	iters := fs.Int("iters", 0, "Lloyd iterations per level (0: 20)")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	dev := fs.String("device", "auto", "where features are extracted: auto, cpu, cuda or opencl (auto: CUDA when a driver and a GPU are found, else the CPU)")
	rf := addRunnerFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("recluster: unexpected arguments %q", fs.Args())
	}
	res, err := pipeline.Recluster(ctx, pipeline.ReclusterConfig{RunDir: *runDir, Dataset: *ds, Work: *work, M: *m, K: *k,
		PCADim: *pcaDim, PCASample: *pcaSample, Iters: *iters, Runner: rf.runner(), Logger: a.log, Device: *dev})
	if err != nil {
		return fmt.Errorf("recluster: %w", err)
	}
	if *asJSON {
		b, err := json.Marshal(map[string]any{"version": res.Version, "images": res.Images, "extract_s": res.Extract.Seconds(),
			"cluster_s": res.Cluster.Seconds(), "iterations": res.KMeans.Iterations, "shuffle_bytes": res.KMeans.ShuffleBytes})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(a.stdout, string(b))
		return err
	}
	fmt.Fprintf(a.stdout, "assignment v%d of %d images stored in %s (extract %s, cluster %s, %d iterations)\n",
		res.Version, res.Images, *runDir, res.Extract.Round(time.Millisecond), res.Cluster.Round(time.Millisecond), res.KMeans.Iterations)
	return nil
}

// Command pipeline measures the Beam pipelines on Prism (in process) beside
// the single-machine paths on the same input: ingest images/s (generated
// YFCC100M metadata and JPEG photos), and reclustering images/s (feature
// extraction with the default network, PCA and the two-level k-means),
// with the costs docs/SCALE.md plans from: per-image extraction and
// assignment time, the shuffle bytes of one k-means iteration and the
// peak memory. The last line printed is one JSON object.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/bench/internal/benchstat"
	"github.com/deepercluster/deepercluster/cluster"
	"github.com/deepercluster/deepercluster/dataset"
	"github.com/deepercluster/deepercluster/dataset/synthetic"
	"github.com/deepercluster/deepercluster/dataset/yfcc"
	"github.com/deepercluster/deepercluster/internal/yfccgen"
	"github.com/deepercluster/deepercluster/pipeline"
	"github.com/deepercluster/deepercluster/trainer"
)

func main() {
	lines := flag.Int("lines", 2000, "YFCC lines generated for the ingest")
	images := flag.Int("images", 8000, "synthetic images reclustered")
	shards := flag.Int("shards", 4, "shards of the pipeline's datasets")
	res := flag.Int("size", 32, "model resolution")
	iters := flag.Int("iters", 10, "Lloyd iterations per level")
	flag.Parse()
	beam.Init()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := run(context.Background(), *lines, *images, *shards, *res, *iters); err != nil {
		fmt.Fprintln(os.Stderr, "bench pipeline:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, lines, nImages, shards, res, iters int) error {
	dir, err := os.MkdirTemp("", "bench-pipeline-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	out := map[string]any{"workers": 1, "runner": "prism (in process, one SDK harness)", "cores": runtime.NumCPU(), "shards": shards}

	// Ingest.
	in, err := yfccgen.Write(dir, yfccgen.Config{Lines: lines, Width: 500, Height: 375, Seed: 1})
	if err != nil {
		return err
	}
	t0 := time.Now()
	single, err := yfcc.Ingest(ctx, yfcc.IngestConfig{YFCC: in.YFCC, Images: in.Images, AutoTags: in.AutoTags, Size: res, Out: filepath.Join(dir, "single")})
	if err != nil {
		return err
	}
	ts := time.Since(t0)
	t0 = time.Now()
	sm, err := pipeline.Ingest(ctx, pipeline.IngestConfig{YFCC: in.YFCC, Images: in.Images, AutoTags: in.AutoTags, Size: res, Out: filepath.Join(dir, "sharded"), Shards: shards})
	if err != nil {
		return err
	}
	tp := time.Since(t0)
	if sm.Images != single.Images || sm.BadLines != single.BadLines || sm.MissingImages != single.MissingImages {
		return fmt.Errorf("ingests disagree: pipeline %d images %d bad %d missing, single %d %d %d", sm.Images, sm.BadLines, sm.MissingImages, single.Images, single.BadLines, single.MissingImages)
	}
	fmt.Printf("ingest of %d lines (%d images of 500x375 JPEG to %d px): single machine %.2f s, %.0f images/s; Prism %.2f s, %.0f images/s\n",
		lines, single.Images, res, ts.Seconds(), float64(single.Images)/ts.Seconds(), tp.Seconds(), float64(sm.Images)/tp.Seconds())
	out["ingest_images_per_s_single"] = round(float64(single.Images) / ts.Seconds())
	out["ingest_images_per_s"] = round(float64(sm.Images) / tp.Seconds())
	out["ingest_ms_per_image_single"] = round3(1000 * ts.Seconds() / float64(single.Images))

	// Recluster: the synthetic dataset in shards, a freshly initialised
	// default network in a run directory.
	ds := filepath.Join(dir, "synthetic")
	if err := shardSynthetic(ds, nImages, res, shards); err != nil {
		return err
	}
	run := filepath.Join(dir, "run")
	model := trainer.DefaultModelConfig(res)
	trunk, err := trainer.InitTrunk(model, 1)
	if err != nil {
		return err
	}
	params := deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: 16, K: 8, PCADim: 64, ReclusterEvery: 1}
	if err := trainer.SaveCheckpoint(run, &trainer.Checkpoint{Model: model, Params: params, Seed: 1, Tensors: trunk}); err != nil {
		return err
	}
	// Single machine.
	t0 = time.Now()
	net, _, err := trainer.LoadBackend(run, trainer.LoadOptions{})
	if err != nil {
		return err
	}
	sd, err := dataset.OpenSharded(ds)
	if err != nil {
		return err
	}
	feats, err := trainer.ExtractFeatures(ctx, net, sd, nil)
	sd.Close()
	dim := net.FeatureDim()
	net.Close()
	if err != nil {
		return err
	}
	te := time.Since(t0)
	t1 := time.Now()
	var assignIter time.Duration
	hr, err := cluster.Hierarchy(ctx, feats, nImages, dim, cluster.HierarchyConfig{Preset: params.Preset, M: params.M, K: params.K, PCADim: params.PCADim, Iters: iters, Seed: 5}, nil)
	if err != nil {
		return err
	}
	tc := time.Since(t1)
	// One assignment step over all rows, as the pipeline's workers run it.
	lab := make([]int32, nImages)
	t1 = time.Now()
	if _, err := cluster.Assign(ctx, hr.Features, nImages, hr.Dim, hr.SuperCentroids, params.M, lab, 0); err != nil {
		return err
	}
	assignIter = time.Since(t1)
	singleTotal := time.Since(t0)
	fmt.Printf("recluster of %d images (%d px, features %d -> PCA %d, m=%d k=%d, %d iterations per level): single machine extract %.2f s (%.0f images/s), cluster %.2f s; total %.0f images/s\n",
		nImages, res, dim, params.PCADim, params.M, params.K, iters, te.Seconds(), float64(nImages)/te.Seconds(), tc.Seconds(), float64(nImages)/singleTotal.Seconds())
	// Prism.
	t0 = time.Now()
	pr, err := pipeline.Recluster(ctx, pipeline.ReclusterConfig{RunDir: run, Dataset: ds, Iters: iters, Seed: 5})
	if err != nil {
		return err
	}
	pt := time.Since(t0)
	nmi := cluster.NMI(pr.KMeans.Assignment.Sub, hr.Assignment.Sub)
	perIter := pr.Cluster.Seconds() / float64(pr.KMeans.Iterations)
	fmt.Printf("Prism: extract %.2f s (%.0f images/s), cluster %.2f s (%d pipelines, %.3f s each), total %.0f images/s; NMI against the single machine %.4f\n",
		pr.Extract.Seconds(), float64(nImages)/pr.Extract.Seconds(), pr.Cluster.Seconds(), pr.KMeans.Iterations, perIter, float64(nImages)/pt.Seconds(), nmi)
	out["recluster_images_per_s_single"] = round(float64(nImages) / singleTotal.Seconds())
	out["recluster_images_per_s"] = round(float64(nImages) / pt.Seconds())
	out["extract_ms_per_image"] = round3(1000 * te.Seconds() / float64(nImages))
	out["assign_us_per_image_iteration"] = round3(1e6 * assignIter.Seconds() / float64(nImages))
	out["assign_k"] = params.M
	out["assign_dim"] = hr.Dim
	out["pipeline_s_per_iteration"] = round3(perIter)
	out["shuffle_bytes_per_iteration"] = pr.KMeans.ShuffleBytes / int64(pr.KMeans.Iterations)
	out["recluster_nmi_vs_single"] = round3(nmi)
	out["peak_rss_mb"] = peakRSSMB()
	out["load_avg_1m"] = benchstat.LoadAvg()
	benchstat.Machine(0).AddTo(out)
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

func shardSynthetic(dir string, n, res, shards int) error {
	syn, err := synthetic.New(synthetic.Config{Seed: 2, N: n, Resolution: res})
	if err != nil {
		return err
	}
	img := make([]byte, deepercluster.ImageBytes(res))
	var names []string
	i := 0
	for s := range shards {
		w, err := dataset.CreateDir(filepath.Join(dir, dataset.ShardName(s)), res, false)
		if err != nil {
			return err
		}
		for ; i < (s+1)*n/shards; i++ {
			if err := syn.Image(i, img); err != nil {
				return err
			}
			if err := w.Add(img, dataset.Entry{Meta: syn.Meta(i)}); err != nil {
				return err
			}
		}
		if _, err := w.Commit(dataset.Manifest{}); err != nil {
			return err
		}
		names = append(names, dataset.ShardName(s))
	}
	_, err = dataset.CommitSharded(dir, names, dataset.Manifest{})
	return err
}

func round(x float64) float64  { return float64(int64(x*10+0.5)) / 10 }
func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return round(kb / 1024)
		}
	}
	return 0
}

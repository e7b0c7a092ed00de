package main

import (
	"flag"

	"github.com/deepercluster/deepercluster/dataset"
)

// datasetFlags are the flags that shape the built-in datasets, the same in
// every subcommand so that `info`, `train` and `serve` see the same images.
type datasetFlags struct {
	n, size   int
	seed      int64
	fmnistDir string
}

func addDatasetFlags(fs *flag.FlagSet) *datasetFlags {
	f := &datasetFlags{}
	fs.IntVar(&f.n, "n", 0, "synthetic: number of images, up to 1000000 (0: 20000)")
	fs.IntVar(&f.size, "size", 0, "synthetic: image side in pixels, 16 to 64 (0: 32)")
	fs.Int64Var(&f.seed, "dataset-seed", 0, "synthetic: generator seed (0: the default, 1)")
	fs.StringVar(&f.fmnistDir, "fashion-mnist-dir", dataset.DefaultFashionMNISTDir, "fashion-mnist: folder of the gzipped IDX files")
	return f
}

// options turns the flags into dataset.Open's options for one split.
func (f *datasetFlags) options(split dataset.Split) dataset.OpenOptions {
	return dataset.OpenOptions{Seed: f.seed, N: f.n, Resolution: f.size, FashionMNISTDir: f.fmnistDir, Split: split}
}

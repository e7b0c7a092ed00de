package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset"
	"github.com/deepercluster/deepercluster/dataset/fashionmnist"
	"github.com/deepercluster/deepercluster/dataset/source"
)

// datasetInfo is what `info --json` prints, as one JSON object.
type datasetInfo struct {
	Dataset       string `json:"dataset"`
	Images        int    `json:"images"`
	Resolution    int    `json:"resolution"`
	Labels        bool   `json:"labels"`
	Lines         int    `json:"lines"`
	BadLines      int    `json:"bad_lines"`
	MissingImages int    `json:"missing_images"`
	CorruptImages int    `json:"corrupt_images"`
	// A folder of photos: display copies, files found, table rows without
	// a file, files without a row.
	ThumbPx         int `json:"thumb_px,omitempty"`
	ImageFiles      int `json:"image_files,omitempty"`
	MissingFiles    int `json:"missing_files,omitempty"`
	FilesWithoutRow int `json:"files_without_row,omitempty"`
	// Shards is the number of shards of a sharded dataset, 0 otherwise.
	Shards   int                      `json:"shards,omitempty"`
	Problems []string                 `json:"problems"`
	TopTags  []deepercluster.TagCount `json:"top_tags"`
}

// runInfo describes a dataset: its size, whether it has labels, what was
// skipped when it was built, and its most frequent tags.
func runInfo(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "info")
	asJSON := fs.Bool("json", false, "print one JSON object")
	top := fs.Int("top", 20, "how many top tags to list")
	dsFlags := addDatasetFlags(fs)
	split := fs.String("split", "train", "fashion-mnist: train or test")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: deepercluster info [--json] DATASET   (synthetic, fashion-mnist, mnist, a dataset directory or a sharded dataset)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("info: want one dataset, got %d arguments", fs.NArg())
	}
	sp, err := fashionmnist.ParseSplit(*split)
	if err != nil {
		return fmt.Errorf("info: %w", err)
	}
	spec := fs.Arg(0)
	ds, err := source.Open(spec, dsFlags.options(sp))
	if err != nil {
		return fmt.Errorf("info: %w", err)
	}
	if c, ok := ds.(interface{ Close() error }); ok {
		defer c.Close()
	}
	_, labels := ds.Label(0)
	info := datasetInfo{
		Dataset: spec, Images: ds.Len(), Resolution: ds.Resolution(), Labels: ds.Len() > 0 && labels,
		Problems: []string{}, TopTags: dataset.TopTags(ds, *top),
	}
	var manifest *dataset.Manifest
	switch d := ds.(type) {
	case *dataset.Dir:
		m := d.Manifest()
		manifest = &m
	case *dataset.Sharded:
		m := d.Manifest().Manifest
		info.Shards = d.NumShards()
		manifest = &m
	}
	if m := manifest; m != nil {
		info.Labels = m.Labels
		info.Lines, info.BadLines, info.MissingImages, info.CorruptImages = m.Lines, m.BadLines, m.MissingImages, m.CorruptImages
		info.Problems = m.Problems
		info.ThumbPx, info.ImageFiles, info.MissingFiles, info.FilesWithoutRow = m.ThumbPx, m.ImageFiles, m.MissingFiles, m.FilesWithoutRow
	}
	if info.TopTags == nil {
		info.TopTags = []deepercluster.TagCount{}
	}
	if *asJSON {
		b, err := json.Marshal(info)
		if err != nil {
			return fmt.Errorf("info: %w", err)
		}
		_, err = fmt.Fprintln(a.stdout, string(b))
		return err
	}
	w := a.stdout
	fmt.Fprintf(w, "dataset     %s\n", info.Dataset)
	fmt.Fprintf(w, "images      %d at %dx%d\n", info.Images, info.Resolution, info.Resolution)
	fmt.Fprintf(w, "labels      %v\n", info.Labels)
	if manifest != nil {
		if info.Shards > 0 {
			fmt.Fprintf(w, "shards      %d\n", info.Shards)
		}
		fmt.Fprintf(w, "lines       %d read, %d bad\n", info.Lines, info.BadLines)
		fmt.Fprintf(w, "missing     %d images (%d corrupt)\n", info.MissingImages, info.CorruptImages)
		if info.ImageFiles > 0 {
			fmt.Fprintf(w, "folder      %d image files, display copies up to %d px; %d table rows without a file, %d files without a row\n",
				info.ImageFiles, info.ThumbPx, info.MissingFiles, info.FilesWithoutRow)
		}
		for _, p := range info.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
	fmt.Fprintf(w, "top tags   ")
	for _, t := range info.TopTags {
		fmt.Fprintf(w, " %s(%d)", t.Tag, t.Count)
	}
	fmt.Fprintln(w)
	return nil
}

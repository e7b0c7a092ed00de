package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/deepercluster/deepercluster/dataset"
)

// runIngest turns a YFCC100M metadata file and a folder of its images into
// a dataset directory that train, serve and info open by path.
func runIngest(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "ingest")
	yfcc := fs.String("yfcc", "", "YFCC100M metadata file (23 or 25 tab-separated columns)")
	images := fs.String("images", "", "folder of images, flat (<photoid>.jpg) or by hash (<h[0:3]>/<h[3:6]>/<hash>.jpg)")
	autotags := fs.String("autotags", "", "optional YFCC100M autotags file (photoid<TAB>concept:prob,...)")
	size := fs.Int("size", 32, "model resolution in pixels (images are center-cropped and resized to size x size)")
	out := fs.String("out", "", "dataset directory to create")
	force := fs.Bool("force", false, "replace an existing dataset directory at --out")
	workers := fs.Int("workers", 0, "image decoders running in parallel (0: one per CPU)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("ingest: unexpected arguments %q", fs.Args())
	}
	var missing []string
	for name, v := range map[string]string{"--yfcc": *yfcc, "--images": *images, "--out": *out} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		fs.Usage()
		return fmt.Errorf("ingest: missing %v", missing)
	}
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionSetDescription("ingest"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetVisibility(!*quiet),
		progressbar.OptionClearOnFinish(),
	)
	start := time.Now()
	m, err := dataset.Ingest(ctx, dataset.IngestConfig{
		YFCC: *yfcc, Images: *images, AutoTags: *autotags, Size: *size, Out: *out,
		Replace: *force, Workers: *workers,
		Progress: func(read, total int64, n int) {
			bar.ChangeMax64(total)
			bar.Describe(fmt.Sprintf("ingest: %d images", n))
			_ = bar.Set64(read)
		},
	})
	_ = bar.Finish()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			a.log.Warn("ingest interrupted; nothing written", "out", *out)
		}
		return fmt.Errorf("ingest: %w", err)
	}
	a.log.Info("ingest done", "out", *out, "images", m.Images, "resolution", m.Resolution,
		"lines", m.Lines, "bad_lines", m.BadLines, "missing_images", m.MissingImages,
		"corrupt_images", m.CorruptImages, "elapsed", time.Since(start).Round(time.Millisecond))
	for _, p := range m.Problems {
		a.log.Warn("skipped", "problem", p)
	}
	if m.Images == 0 {
		a.log.Warn("the dataset is empty: no metadata line had a decodable image", slog.String("images", *images))
	}
	return nil
}

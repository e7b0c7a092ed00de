package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/deepercluster/deepercluster/dataset"
	"github.com/deepercluster/deepercluster/dataset/folder"
	"github.com/deepercluster/deepercluster/dataset/yfcc"
)

// runIngest turns a folder of images (with an optional metadata table), or
// a YFCC100M metadata file and a folder of its images, into a dataset
// directory that train, serve and info open by path.
func runIngest(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "ingest")
	yfccFile := fs.String("yfcc", "", "YFCC100M metadata file (23 or 25 tab-separated columns); without it --images is a folder of photos, walked recursively")
	images := fs.String("images", "", "folder of images: any photos, nested (without --yfcc); with --yfcc flat (<photoid>.jpg) or by hash (<h[0:3]>/<h[3:6]>/<hash>.jpg)")
	meta := fs.String("meta", "", "folder of photos: optional metadata table (.csv, .tsv, .jsonl or .parquet) with columns among id, file, tags, title, description, date, user, label")
	thumbPx := fs.Int("thumb-px", folder.DefaultThumbPx, "folder of photos: longest side of the display copies kept for the explorer, in pixels")
	autotags := fs.String("autotags", "", "optional YFCC100M autotags file (photoid<TAB>concept:prob,...)")
	size := fs.Int("size", 32, "model resolution in pixels, 32 to 96 (images are center-cropped and resized to size x size)")
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
	if *yfccFile == "" {
		if *images == "" || *out == "" {
			fs.Usage()
			return fmt.Errorf("ingest: want --images DIR --out OUT (a folder of photos) or --yfcc FILE --images DIR --out OUT")
		}
		if *autotags != "" {
			return fmt.Errorf("ingest: --autotags goes with --yfcc; a folder of photos takes its tags from --meta, embedded keywords and folder names")
		}
		return ingestFolder(ctx, a, folder.Config{Images: *images, Meta: *meta, Out: *out, Size: *size,
			ThumbPx: *thumbPx, Replace: *force, Workers: *workers}, *quiet)
	}
	if *meta != "" {
		return fmt.Errorf("ingest: --meta is for a folder of photos; a YFCC100M subset has its metadata in --yfcc")
	}
	var missing []string
	for name, v := range map[string]string{"--yfcc": *yfccFile, "--images": *images, "--out": *out} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		fs.Usage()
		return fmt.Errorf("ingest: missing %v", missing)
	}
	term := isTerminal(a.stderr)
	var lines *progressLines // progress without a terminal
	if !*quiet && !term {
		lines = newProgressLines(a.log, "ingest progress")
	}
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionSetDescription("ingest"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetVisibility(!*quiet && term),
		progressbar.OptionClearOnFinish(),
	)
	start := time.Now()
	m, err := yfcc.Ingest(ctx, yfcc.IngestConfig{
		YFCC: *yfccFile, Images: *images, AutoTags: *autotags, Size: *size, Out: *out,
		Replace: *force, Workers: *workers,
		Progress: func(read, total int64, n int) {
			bar.ChangeMax64(total)
			bar.Describe(fmt.Sprintf("ingest: %d images", n))
			_ = bar.Set64(read)
			if lines != nil {
				lines.report("ingest", read == total, "bytes_read", read, "bytes", total, "images", n)
			}
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

// folderBar is the progress bar of a folder ingest, counting image files;
// without a terminal the bar stays hidden and progress is logged as lines.
func folderBar(a *app, quiet bool) (*progressbar.ProgressBar, func(done, total, images int)) {
	term := isTerminal(a.stderr)
	var lines *progressLines
	if !quiet && !term {
		lines = newProgressLines(a.log, "ingest progress")
	}
	bar := progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionSetDescription("ingest"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("images"),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetVisibility(!quiet && term),
		progressbar.OptionClearOnFinish(),
	)
	return bar, func(done, total, images int) {
		bar.ChangeMax(total)
		bar.Describe(fmt.Sprintf("ingest: %d images kept", images))
		_ = bar.Set(done)
		if lines != nil {
			lines.report("ingest", done == total, "files_done", done, "files", total, "images_kept", images)
		}
	}
}

// ingestFolder runs a folder ingest with a progress bar and reports it.
func ingestFolder(ctx context.Context, a *app, cfg folder.Config, quiet bool) error {
	bar, progress := folderBar(a, quiet)
	cfg.Progress = progress
	start := time.Now()
	m, err := folder.Ingest(ctx, cfg)
	_ = bar.Finish()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			a.log.Warn("ingest interrupted; nothing written", "out", cfg.Out)
		}
		return fmt.Errorf("ingest: %w", err)
	}
	logFolderManifest(a, cfg.Out, m, time.Since(start))
	return nil
}

// logFolderManifest says what a folder ingest kept and skipped.
func logFolderManifest(a *app, out string, m dataset.Manifest, took time.Duration) {
	a.log.Info("ingest done", "out", out, "images", m.Images, "resolution", m.Resolution, "thumb_px", m.ThumbPx,
		"image_files", m.ImageFiles, "corrupt_images", m.CorruptImages, "unreadable_images", m.MissingImages-m.CorruptImages,
		"table_lines", m.Lines, "bad_lines", m.BadLines, "missing_files", m.MissingFiles,
		"files_without_row", m.FilesWithoutRow, "skipped_files", m.SkippedFiles, "elapsed", took.Round(time.Millisecond))
	for _, p := range m.Problems {
		a.log.Warn("problem", "problem", p)
	}
	if m.Images == 0 {
		a.log.Warn("the dataset is empty: no image file decoded", "out", out)
	}
}

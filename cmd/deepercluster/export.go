package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset/fashionmnist"
	"github.com/deepercluster/deepercluster/export"
	"github.com/deepercluster/deepercluster/internal/atomicfile"
	"github.com/deepercluster/deepercluster/internal/par"
	"github.com/deepercluster/deepercluster/layout2d"
	"github.com/deepercluster/deepercluster/server"
	"github.com/deepercluster/deepercluster/trainer"
)

// runExport writes a run directory's clustering as CSV, JSON Lines or
// Parquet without a server: the rows GET /api/export answers (package
// export builds both). The 2D layout is not kept on disk (a server computes
// it after each version), so x and y are absent (CSV, JSONL) or null
// (Parquet) unless --layout computes it from the features; tags come from --dataset when it is given (the run directory
// does not record its dataset). It takes no lock: every file it reads is
// replaced atomically, so it can run beside `serve`.
func runExport(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "export")
	dataDir := fs.String("data-dir", "runs/default", "run directory to export (assignments/, features.npy, notes.json)")
	format := fs.String("format", export.CSV, "output format: "+export.Formats)
	version := fs.Uint("version", 0, "assignment version to export (0: the latest in the run directory)")
	features := fs.Bool("features", false, "add each image's feature vector (features.npy; the latest version only)")
	withLayout := fs.Bool("layout", false, "compute the 2D map (x, y) from the features as serve does (layout2d; the latest version only; minutes for a million images)")
	out := fs.String("out", "", "output file (written atomically; required)")
	dsSpec := fs.String("dataset", "", "the run's dataset, for the tags column (empty: no tags)")
	dsFlags := addDatasetFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: deepercluster export --data-dir DIR --format csv|jsonl|parquet [--version N] [--features] [--dataset D] --out FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("export: unexpected argument %q", fs.Arg(0))
	}
	if err := export.CheckFormat(*format); err != nil {
		return fmt.Errorf("export: --format: %w", err)
	}
	if *out == "" {
		return errors.New("export: --out FILE is required")
	}
	v := uint32(*version)
	if v == 0 {
		latest, err := latestVersion(*dataDir)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		v = latest
	}
	asg, err := trainer.LoadAssignment(*dataDir, v)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	t := &export.Table{A: asg}
	if t.Notes, err = server.LoadExportNotes(*dataDir, v); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if *features || *withLayout {
		flag := "--features"
		if !*features {
			flag = "--layout"
		}
		f, err := server.LoadFeatures(*dataDir)
		if err != nil {
			return fmt.Errorf("export: %s: %w", flag, err)
		}
		if f.Version != v || f.N != len(asg.Super) {
			return fmt.Errorf("export: %s: %s holds the features of version %d (%d images), not of version %d (%d images); a run keeps only the latest version's",
				flag, filepath.Join(*dataDir, server.FeaturesFile), f.Version, f.N, v, len(asg.Super))
		}
		if *features {
			t.Features, t.Dim = f.Data, f.Dim
		}
		if *withLayout {
			if t.X, t.Y, err = computeLayout(ctx, a, f); err != nil {
				return fmt.Errorf("export: --layout: %w", err)
			}
		}
	}
	if *dsSpec != "" {
		ds, err := dsFlags.open(ctx, a, *dsSpec, *dataDir, fashionmnist.Train)
		if err != nil {
			return fmt.Errorf("export: --dataset: %w", err)
		}
		if ds.Len() != len(asg.Super) {
			return fmt.Errorf("export: --dataset %s has %d images, version %d of %s has %d: not this run's dataset", *dsSpec, ds.Len(), v, *dataDir, len(asg.Super))
		}
		t.Tags = func(i int) []string { return ds.Meta(i).Tags }
	}
	start := time.Now()
	if err := atomicfile.WriteFunc(*out, func(w io.Writer) error { return export.Write(ctx, w, *format, t, nil) }); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	st, err := os.Stat(*out)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	a.log.Info("exported", "out", *out, "format", *format, "version", v, "rows", len(asg.Super),
		"features", t.Dim, "bytes", st.Size(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// computeLayout lays out f's 2D map as the server does (layout2d, the same
// neighbours, epochs and seed, so the same map), logging progress lines.
func computeLayout(ctx context.Context, a *app, f *deepercluster.Features) (xs, ys []float32, err error) {
	threads := par.Threads()
	lines := newProgressLines(a.log, "layout progress")
	start := time.Now()
	g, err := layout2d.KNN(ctx, f.Data, f.N, f.Dim, layout2d.KNNOptions{K: server.LayoutK, Threads: threads, Seed: uint64(f.Version),
		Progress: func(done float64) {
			lines.report("knn", done >= 1, "stage", "knn", "done", fmt.Sprintf("%.0f%%", 100*done))
		}})
	if err != nil {
		return nil, nil, fmt.Errorf("knn graph: %w", err)
	}
	xs, ys, err = layout2d.Embed(ctx, g, f.Data, f.Dim, layout2d.EmbedOptions{Epochs: layout2d.DefaultEpochs(f.N), Threads: threads, Seed: uint64(f.Version),
		Progress: func(done float64) {
			lines.report("layout", done >= 1, "stage", "layout", "done", fmt.Sprintf("%.0f%%", 100*done))
		}})
	if err != nil {
		return nil, nil, fmt.Errorf("embed: %w", err)
	}
	a.log.Info("layout ready", "images", f.N, "took", time.Since(start).Round(time.Millisecond))
	return xs, ys, nil
}

// assignmentName matches the file names of trainer.AssignmentPath.
var assignmentName = regexp.MustCompile(`^v(\d{6,})\.bin$`)

// latestVersion is the highest version under dir/assignments.
func latestVersion(dir string) (uint32, error) {
	ents, err := os.ReadDir(filepath.Join(dir, trainer.AssignmentDir))
	if err != nil {
		return 0, fmt.Errorf("%s is not a run directory (no %s/): %w", dir, trainer.AssignmentDir, err)
	}
	var best uint32
	for _, e := range ents {
		m := assignmentName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		if v, err := strconv.ParseUint(m[1], 10, 32); err == nil && uint32(v) > best {
			best = uint32(v)
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("%s holds no clustering yet (%s/ is empty)", dir, filepath.Join(dir, trainer.AssignmentDir))
	}
	return best, nil
}

// OnFeatures keeps the features of each clustering of `train` in its run
// directory (server.FeaturesFile, as `serve` does), so that `export
// --features` works on a run trained from the command line. The trainer's
// event queue is unbounded, so the write delays later events, never
// training; a failure is logged and loses only the file.
func (b *barObserver) OnFeatures(f *deepercluster.Features) {
	if b.dir == "" {
		return
	}
	if err := server.SaveFeatures(b.dir, f); err != nil {
		b.log.Error("keep the features for export", "version", f.Version, "err", err)
	}
}

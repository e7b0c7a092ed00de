package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster/dataset/source"
	"github.com/deepercluster/deepercluster/trainer"
	"github.com/parquet-go/parquet-go"
)

// TestExportCommand trains a small run from the command line, then exports
// it without a server in each format and reads the Parquet file back with
// parquet-go: one row per image with the clusters of the stored
// Assignment, the dataset's tags, null x and y (no layout on disk) and the
// features `train` kept.
func TestExportCommand(t *testing.T) {
	const n = 200
	root := t.TempDir()
	run := filepath.Join(root, "run")
	a, _, errb := testApp()
	if err := runTrain(context.Background(), a, []string{"--dataset", "synthetic", "--n", "200", "--size", "16", "--out", run,
		"--epochs", "1", "--m", "2", "--k", "2", "--pca-dim", "4", "--batch", "8", "--width", "4", "--hidden", "8"}); err != nil {
		t.Fatalf("train: %v\n%s", err, errb)
	}
	// Without a terminal, progress is lines, not a bar's blank lines.
	if !strings.Contains(errb.String(), "msg=progress") || strings.Contains(errb.String(), "\n\n") || strings.Contains(errb.String(), "\r") {
		t.Errorf("train's stderr without a terminal: want progress lines, no blank lines or carriage returns:\n%s", errb)
	}
	v, err := latestVersion(run)
	if err != nil {
		t.Fatal(err)
	}
	asg, err := trainer.LoadAssignment(run, v)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := source.Open("synthetic", source.Options{N: n, Resolution: 16})
	if err != nil {
		t.Fatal(err)
	}
	export := func(t *testing.T, format string, extra ...string) string {
		t.Helper()
		out := filepath.Join(root, "out."+format)
		a, _, errb := testApp()
		args := append([]string{"--data-dir", run, "--format", format, "--dataset", "synthetic", "--n", "200", "--size", "16", "--out", out}, extra...)
		if err := runExport(context.Background(), a, args); err != nil {
			t.Fatalf("export %v: %v\n%s", args, err, errb)
		}
		return out
	}

	t.Run("parquet with features", func(t *testing.T) {
		out := export(t, "parquet", "--features")
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		st, _ := f.Stat()
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			t.Fatalf("parquet-go: %v", err)
		}
		var cols []string
		for _, fl := range pf.Schema().Fields() {
			cols = append(cols, fl.Name())
		}
		if want := "id,super,sub,tags,cluster_name,verdict,note,x,y,features"; strings.Join(cols, ",") != want {
			t.Fatalf("columns %v, want %s", cols, want)
		}
		type prow struct {
			ID       int64     `parquet:"id"`
			Super    int32     `parquet:"super"`
			Sub      int32     `parquet:"sub"`
			Tags     []string  `parquet:"tags,list"`
			X        *float32  `parquet:"x,optional"`
			Features []float32 `parquet:"features,list"`
		}
		rows, err := parquet.ReadFile[prow](out)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != n {
			t.Fatalf("%d rows, want %d", len(rows), n)
		}
		for i, r := range rows {
			if r.ID != int64(i) || r.Super != asg.Super[i] || r.Sub != asg.Sub[i] || !slices.Equal(r.Tags, ds.Meta(i).Tags) {
				t.Fatalf("row %d: %+v, want %d/%d tags %q", i, r, asg.Super[i], asg.Sub[i], ds.Meta(i).Tags)
			}
			if r.X != nil || len(r.Features) != 4 {
				t.Fatalf("row %d: x %v, %d features; want null x and 4 features (--pca-dim 4)", i, r.X, len(r.Features))
			}
		}
	})
	t.Run("layout", func(t *testing.T) {
		out := export(t, "parquet", "--layout")
		type prow struct {
			X *float32 `parquet:"x,optional"`
			Y *float32 `parquet:"y,optional"`
		}
		rows, err := parquet.ReadFile[prow](out)
		if err != nil {
			t.Fatal(err)
		}
		spread := map[float32]bool{}
		for i, r := range rows {
			if r.X == nil || r.Y == nil {
				t.Fatalf("row %d: no x, y with --layout", i)
			}
			spread[*r.X] = true
		}
		if len(rows) != n || len(spread) < n/2 {
			t.Fatalf("%d rows, %d distinct x: want %d rows laid out apart", len(rows), len(spread), n)
		}
	})
	t.Run("csv and jsonl", func(t *testing.T) {
		recs, err := csv.NewReader(strings.NewReader(readFile(t, export(t, "csv")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != n+1 || strings.Join(recs[0], ",") != "id,super,sub,tags,cluster_name,verdict,note" {
			t.Fatalf("%d csv records, header %v", len(recs), recs[0])
		}
		if lines := strings.Count(readFile(t, export(t, "jsonl")), "\n"); lines != n {
			t.Fatalf("%d jsonl lines, want %d", lines, n)
		}
	})

	bad := []struct {
		name string
		args []string
		want string
	}{
		{"format", []string{"--data-dir", run, "--format", "xlsx", "--out", filepath.Join(root, "x")}, `format "xlsx"`},
		{"no out", []string{"--data-dir", run}, "--out"},
		{"version", []string{"--data-dir", run, "--version", "99", "--out", filepath.Join(root, "x")}, "v000099.bin"},
		{"not a run", []string{"--data-dir", root, "--out", filepath.Join(root, "x")}, "not a run directory"},
		{"other dataset", []string{"--data-dir", run, "--dataset", "synthetic", "--n", "300", "--out", filepath.Join(root, "x")}, "has 300 images"},
	}
	for _, c := range bad {
		t.Run("refuses "+c.name, func(t *testing.T) {
			a, _, _ := testApp()
			err := runExport(context.Background(), a, c.args)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one naming %q", err, c.want)
			}
			if _, err := os.Stat(filepath.Join(root, "x")); err == nil {
				t.Fatal("a refused export left a file")
			}
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHelpAndVersion(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"usage: deepercluster <command>", "  export ", "  serve ", "  version "}},
		{[]string{"-h"}, []string{"  train ", "  ingest "}},
		{[]string{"help"}, []string{"  eval ", "  info "}},
		{[]string{"version"}, []string{"module github.com/deepercluster/deepercluster", "go go1."}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			a, out, errb := testApp()
			if err := dispatch(context.Background(), a, c.args); err != nil {
				t.Fatalf("%v\n%s", err, errb)
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out.String(), "-data-dir") {
				t.Errorf("stdout shows serve's flags:\n%s", out)
			}
		})
	}
}

func TestVersionFromBuildInfo(t *testing.T) {
	cases := []struct {
		name string
		bi   *debug.BuildInfo
		want buildVersion
	}{
		{"none", nil, buildVersion{Module: "github.com/deepercluster/deepercluster", Version: "unknown", Commit: "unknown", Go: runtime.Version()}},
		{"tagged, from git", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/deepercluster/deepercluster", Version: "v0.3.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-06T18:00:00Z"}, {Key: "vcs.modified", Value: "true"}}},
			buildVersion{Module: "github.com/deepercluster/deepercluster", Version: "v0.3.0", Commit: "abc123", Time: "2026-12-06T18:00:00Z", Modified: true, Go: "go1.26.8"}},
	}
	for _, c := range cases {
		if got := versionFrom(c.bi, c.bi != nil); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestProgressLinesPace(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(0, 0)
	p := newProgressLines(slog.New(slog.NewTextHandler(&buf, nil)), "progress")
	p.now = func() time.Time { return now }
	steps := []struct {
		after       time.Duration
		stage       string
		final, want bool
	}{
		{0, "epoch 1", false, true},               // the first report of a stage
		{time.Second, "epoch 1", false, false},    // too soon
		{9 * time.Second, "epoch 1", false, true}, // 10 s after the last line
		{time.Second, "epoch 1", true, true},      // the end of a stage
		{time.Second, "epoch 2", false, true},     // a new stage
		{time.Second, "epoch 2", false, false},
	}
	for j, s := range steps {
		now = now.Add(s.after)
		if got := p.report(s.stage, s.final, "step", j); got != s.want {
			t.Errorf("report %d (%s, +%v, final %v): logged %v, want %v", j, s.stage, s.after, s.final, got, s.want)
		}
	}
	if lines := strings.Count(buf.String(), "msg=progress"); lines != 4 {
		t.Errorf("%d lines, want 4:\n%s", lines, buf.String())
	}
	if isTerminal(&buf) {
		t.Error("a buffer is not a terminal")
	}
}

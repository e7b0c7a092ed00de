package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/deepercluster/deepercluster/dataset"
	"github.com/deepercluster/deepercluster/internal/yfccgen"
)

func TestMain(m *testing.M) {
	beam.Init()
	os.Exit(m.Run())
}

func TestDispatch(t *testing.T) {
	dir := t.TempDir()
	in, err := yfccgen.Write(dir, yfccgen.Config{Lines: 40, Width: 24, Height: 24, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
		wantOut string
	}{
		{"no command", nil, "no command", ""},
		{"unknown", []string{"frobnicate"}, "unknown command", ""},
		{"universal without endpoint", []string{"ingest", "--yfcc", in.YFCC, "--images", in.Images, "--out", filepath.Join(dir, "x"), "--runner", "universal"}, "--endpoint", ""},
		{"bad runner", []string{"ingest", "--yfcc", in.YFCC, "--images", in.Images, "--out", filepath.Join(dir, "y"), "--runner", "spark"}, "want prism or universal", ""},
		{"ingest", []string{"ingest", "--yfcc", in.YFCC, "--images", in.Images, "--autotags", in.AutoTags, "--size", "16", "--shards", "2", "--out", out}, "", "into 2 shards"},
		{"ingest again", []string{"ingest", "--yfcc", in.YFCC, "--images", in.Images, "--size", "16", "--out", out}, "already holds a sharded dataset", ""},
		{"recluster without run", []string{"recluster", "--dataset", out}, "needs a run directory", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			a := &app{stdout: &stdout, stderr: &stderr, log: slog.New(slog.NewTextHandler(&stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
			err := dispatch(context.Background(), a, tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.wantOut) {
				t.Fatalf("output %q, want %q in it", stdout.String(), tc.wantOut)
			}
		})
	}
	sd, err := dataset.OpenSharded(out)
	if err != nil {
		t.Fatal(err)
	}
	defer sd.Close()
	if m := sd.Manifest(); m.BadLines != in.Bad || m.MissingImages != in.Missing || sd.Len() == 0 {
		t.Fatalf("sharded dataset: %d bad lines, %d missing, %d images; generated %d bad, %d missing", m.BadLines, m.MissingImages, sd.Len(), in.Bad, in.Missing)
	}
}

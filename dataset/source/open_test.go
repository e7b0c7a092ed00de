package source

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset"
	"github.com/deepercluster/deepercluster/dataset/fashionmnist"
	"github.com/deepercluster/deepercluster/dataset/synthetic"
)

func TestOpenBuiltins(t *testing.T) {
	ds, err := Open(SpecSynthetic, Options{N: 50, Resolution: 16, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 50 || ds.Resolution() != 16 {
		t.Errorf("synthetic: %d images at %d", ds.Len(), ds.Resolution())
	}
	if _, ok := ds.Label(0); !ok {
		t.Error("synthetic has no labels")
	}
	def, err := Open(SpecSynthetic, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := synthetic.DefaultConfig(); def.Len() != c.N || def.Resolution() != c.Resolution {
		t.Errorf("zero options: %d at %d, want defaults %d at %d", def.Len(), def.Resolution(), c.N, c.Resolution)
	}
	if _, err := Open(SpecSynthetic, Options{Resolution: 1000}); err == nil {
		t.Error("synthetic at 1000 px accepted")
	}
	if _, err := Open("", Options{}); err == nil {
		t.Error("empty spec accepted")
	}
	mn, err := Open(SpecMNIST, Options{Split: fashionmnist.Test})
	if err != nil {
		t.Fatalf("mnist from the Go module cache: %v", err)
	}
	if mn.Len() != 10000 || mn.Resolution() != 28 {
		t.Errorf("mnist test split: %d images at %d, want 10000 at 28", mn.Len(), mn.Resolution())
	}
	if _, err := Open(SpecMNIST, Options{MNISTDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "--mnist-dir") {
		t.Errorf("mnist in an empty folder: %v, want --mnist-dir named", err)
	}
	_, err = Open(SpecFashionMNIST, Options{FashionMNISTDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "dataset-fashion-mnist") {
		t.Errorf("fashion-mnist in an empty folder: %v, want the package named", err)
	}
}

// TestOpenPaths checks that Open tells the kinds of path apart: a dataset
// directory, a sharded dataset, a folder of photos (refused with the
// ingest command to run) and nothing at all.
func TestOpenPaths(t *testing.T) {
	base := t.TempDir()
	writeDir := func(out string, n int) {
		w, err := dataset.CreateDir(out, 4, false)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if err := w.Add(make([]byte, deepercluster.ImageBytes(4)), dataset.Entry{Meta: deepercluster.Meta{PhotoID: fmt.Sprint(i)}}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.Commit(dataset.Manifest{}); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(base, "dir")
	writeDir(dir, 3)
	sharded := filepath.Join(base, "sharded")
	writeDir(filepath.Join(sharded, dataset.ShardName(0)), 2)
	writeDir(filepath.Join(sharded, dataset.ShardName(1)), 5)
	if _, err := dataset.CommitSharded(sharded, []string{dataset.ShardName(0), dataset.ShardName(1)}, dataset.Manifest{}); err != nil {
		t.Fatal(err)
	}
	photos := filepath.Join(base, "photos")
	var b bytes.Buffer
	if err := jpeg.Encode(&b, synthetic.ScenePhoto(0, 1, 40, 30), nil); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(photos, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(photos, "a.jpg"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantLen int
		wantT   string
		wantErr string
	}{
		{"dataset directory", dir, 3, "*dataset.Dir", ""},
		{"sharded dataset", sharded, 7, "*dataset.Sharded", ""},
		{"folder of photos", photos, 0, "", "deepercluster ingest --images"},
		{"nothing there", filepath.Join(base, "none"), 0, "", "none"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := Open(tc.path, Options{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c, ok := ds.(interface{ Close() error }); ok {
				defer c.Close()
			}
			if got := fmt.Sprintf("%T", ds); got != tc.wantT || ds.Len() != tc.wantLen {
				t.Fatalf("Open gave %s of %d images, want %s of %d", got, ds.Len(), tc.wantT, tc.wantLen)
			}
		})
	}
}

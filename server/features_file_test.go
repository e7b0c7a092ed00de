package server

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/internal/npy"
)

// fixtureFeatures is what testdata/features-dcf1.bin holds: written by the
// DCF1 code (before features were .npy) from these values.
func fixtureFeatures() *deepercluster.Features {
	f := &deepercluster.Features{Version: 7, N: 5, Dim: 3, Data: make([]float32, 15)}
	for i := range f.Data {
		f.Data[i] = float32(i)*0.25 - 1.5
	}
	return f
}

// TestFeaturesFiles covers what loadFeatures finds in a run directory:
// the .npy with its meta file, a features.bin from before (the committed
// fixture), both (the new wins), and the states a crash or a damaged disk
// leaves, which must not be used.
func TestFeaturesFiles(t *testing.T) {
	legacy, err := os.ReadFile("testdata/features-dcf1.bin")
	if err != nil {
		t.Fatal(err)
	}
	newer := unitFeatures(9, 40, 6, 3)
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string)
		want    *deepercluster.Features
		wantErr string // "" for no error; errNoFeatures by its text
	}{
		{"nothing saved", func(*testing.T, string) {}, nil, errNoFeatures.Error()},
		{"npy and meta", func(t *testing.T, dir string) { mustSave(t, dir, newer) }, newer, ""},
		{"old features.bin", func(t *testing.T, dir string) { mustWrite(t, filepath.Join(dir, legacyFeaturesFile), legacy) }, fixtureFeatures(), ""},
		{"old file then a new save", func(t *testing.T, dir string) {
			mustWrite(t, filepath.Join(dir, legacyFeaturesFile), legacy)
			mustSave(t, dir, newer)
			if _, err := os.Stat(filepath.Join(dir, legacyFeaturesFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the old features.bin is still there after a save: %v", err)
			}
		}, newer, ""},
		{"old file damaged", func(t *testing.T, dir string) {
			b := append([]byte(nil), legacy...)
			b[30] ^= 1
			mustWrite(t, filepath.Join(dir, legacyFeaturesFile), b)
		}, nil, "checksum mismatch"},
		{"crash between the npy and its meta", func(t *testing.T, dir string) {
			mustSave(t, dir, fixtureFeatures())
			other := unitFeatures(8, 5, 3, 1)
			if err := npy.Write(filepath.Join(dir, FeaturesFile), other.N, other.Dim, other.Data); err != nil {
				t.Fatal(err)
			}
		}, nil, "checksum mismatch"},
		{"npy without its meta is not read as features.bin", func(t *testing.T, dir string) {
			if err := npy.Write(filepath.Join(dir, FeaturesFile), 2, 2, []float32{1, 2, 3, 4}); err != nil {
				t.Fatal(err)
			}
		}, nil, errNoFeatures.Error()},
		{"meta without its npy", func(t *testing.T, dir string) {
			mustSave(t, dir, newer)
			os.Remove(filepath.Join(dir, FeaturesFile))
		}, nil, FeaturesFile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			got, err := loadFeatures(dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("loadFeatures: %v, want an error saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("loaded version %d, %d x %d, want version %d, %d x %d (or other values)", got.Version, got.N, got.Dim, tc.want.Version, tc.want.N, tc.want.Dim)
			}
		})
	}
}

// TestFeaturesFileIsNpy checks that the saved features are a plain .npy of
// the features' shape, which NumPy (internal/npy's TestNumPyReadsOurs)
// loads as it is.
func TestFeaturesFileIsNpy(t *testing.T) {
	dir := t.TempDir()
	f := unitFeatures(3, 17, 5, 2)
	mustSave(t, dir, f)
	n, d, data, err := npy.Read[float32](filepath.Join(dir, FeaturesFile))
	if err != nil {
		t.Fatal(err)
	}
	if n != f.N || d != f.Dim || !reflect.DeepEqual(data, f.Data) {
		t.Fatalf("features.npy holds %d x %d, want %d x %d with the same values", n, d, f.N, f.Dim)
	}
}

func mustSave(t *testing.T, dir string, f *deepercluster.Features) {
	t.Helper()
	if err := saveFeatures(dir, f); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

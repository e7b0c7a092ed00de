package dataset

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster"
)

// writeTestDir writes n images of side res whose bytes encode their index,
// with tags and, when labels is set, label i%3.
func writeTestDir(t *testing.T, out string, n, res int, labels bool) Manifest {
	t.Helper()
	w, err := CreateDir(out, res, false)
	if err != nil {
		t.Fatal(err)
	}
	img := make([]byte, deepercluster.ImageBytes(res))
	for i := range n {
		for k := range img {
			img[k] = byte(i*7 + k)
		}
		e := Entry{Meta: deepercluster.Meta{
			PhotoID: fmt.Sprint(1000 + i), Title: fmt.Sprintf("photo «%d»", i),
			Tags:     []string{"all", fmt.Sprintf("mod%d", i%2), "all"}, // a repeated tag counts once
			AutoTags: []deepercluster.AutoTag{{Concept: "sky", Prob: 0.5}},
			Taken:    time.Date(2010, 1, 2, 3, 4, 5, 0, time.UTC),
		}, SourceLine: i + 1, HasLabel: labels, Label: i % 3}
		if err := w.Add(img, e); err != nil {
			t.Fatal(err)
		}
	}
	m, err := w.Commit(Manifest{Lines: n + 2, BadLines: 2, Problems: []string{"x line 3: bad"}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDirRoundTrip(t *testing.T) {
	for _, labels := range []bool{false, true} {
		t.Run(fmt.Sprint("labels=", labels), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "ds")
			const n, res = 25, 8
			m := writeTestDir(t, out, n, res, labels)
			if m.Images != n || m.Resolution != res || m.Labels != labels || m.BadLines != 2 {
				t.Errorf("manifest %+v", m)
			}
			if want := []deepercluster.TagCount{{Tag: "all", Count: 25}, {Tag: "mod0", Count: 13}, {Tag: "mod1", Count: 12}}; !slices.Equal(m.TopTags, want) {
				t.Errorf("top tags %v, want %v", m.TopTags, want)
			}
			entries, _ := os.ReadDir(filepath.Dir(out))
			if len(entries) != 1 {
				t.Errorf("temporary directories left: %v", entries)
			}
			d, err := OpenDir(out)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if d.Len() != n || d.Resolution() != res {
				t.Fatalf("len %d res %d", d.Len(), d.Resolution())
			}
			// Concurrent readers see the right bytes.
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for g := range 4 {
				wg.Go(func() {
					buf := make([]byte, deepercluster.ImageBytes(res))
					for i := g; i < n; i += 2 {
						if err := d.Image(i, buf); err != nil {
							errs <- err
							return
						}
						for k := range buf {
							if buf[k] != byte(i*7+k) {
								errs <- fmt.Errorf("image %d byte %d = %d", i, k, buf[k])
								return
							}
						}
						if m := d.Meta(i); m.PhotoID != fmt.Sprint(1000+i) {
							errs <- fmt.Errorf("meta %d: photo %q", i, m.PhotoID)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			mt := d.Meta(7)
			if mt.Title != "photo «7»" || !slices.Equal(mt.Tags, []string{"all", "mod1", "all"}) || len(mt.AutoTags) != 1 ||
				mt.AutoTags[0] != (deepercluster.AutoTag{Concept: "sky", Prob: 0.5}) || !mt.Taken.Equal(time.Date(2010, 1, 2, 3, 4, 5, 0, time.UTC)) {
				t.Errorf("meta 7: %+v", mt)
			}
			if d.SourceLine(7) != 8 {
				t.Errorf("source line %d, want 8", d.SourceLine(7))
			}
			l, ok := d.Label(5)
			if ok != labels || (labels && l != 2) {
				t.Errorf("label %d %v", l, ok)
			}
			if err := d.Image(n, make([]byte, deepercluster.ImageBytes(res))); err == nil {
				t.Error("image out of range accepted")
			}
			if err := d.Image(0, make([]byte, 3)); err == nil {
				t.Error("short buffer accepted")
			}
			if _, err := d.MetaErr(-1); err == nil {
				t.Error("meta -1 accepted")
			}
			if got := TopTags(d, 2); !slices.Equal(got, m.TopTags[:2]) {
				t.Errorf("TopTags %v", got)
			}
			ds, err := OpenPath(out)
			if err != nil || ds.Len() != n {
				t.Fatalf("OpenPath(dir): %v", err)
			}
		})
	}
}

func TestCreateDirRefusesExisting(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ds")
	writeTestDir(t, out, 3, 4, false)
	if _, err := CreateDir(out, 4, false); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("existing output: %v", err)
	}
	// Replacing keeps the old dataset until the new one is complete.
	w, err := CreateDir(out, 4, true)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := OpenDir(out); err != nil || d.Len() != 3 {
		t.Fatalf("old dataset gone while replacing: %v", err)
	}
	if err := w.Add(make([]byte, 48), Entry{Meta: deepercluster.Meta{PhotoID: "1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(Manifest{}); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDir(out)
	if err != nil || d.Len() != 1 {
		t.Fatalf("replaced dataset: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
	if _, err := CreateDir(filepath.Join(t.TempDir(), "x"), deepercluster.MaxResolution+1, false); err == nil {
		t.Errorf("resolution %d accepted", deepercluster.MaxResolution+1)
	}
}

// TestOpenDirRefusesIncomplete plays the states a killed ingest can leave
// behind, and damaged directories: none may load.
func TestOpenDirRefusesIncomplete(t *testing.T) {
	base := t.TempDir()
	good := filepath.Join(base, "good")
	writeTestDir(t, good, 4, 4, false)
	manifest, _ := os.ReadFile(filepath.Join(good, ManifestFile))

	clone := func(name string) string {
		dir := filepath.Join(base, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		files, _ := os.ReadDir(good)
		for _, f := range files {
			b, _ := os.ReadFile(filepath.Join(good, f.Name()))
			writeFile(t, filepath.Join(dir, f.Name()), b)
		}
		return dir
	}
	for _, tc := range []struct {
		name       string
		make       func() string
		incomplete bool
	}{
		{"killed before the manifest", func() string {
			w, err := CreateDir(filepath.Join(base, "killed"), 4, false)
			if err != nil {
				t.Fatal(err)
			}
			w.Add(make([]byte, 48), Entry{Meta: deepercluster.Meta{PhotoID: "1"}})
			w.images.Flush()
			w.meta.Flush()
			return w.TempDir() // the process dies here: no Commit, no Abort
		}, true},
		{"no manifest", func() string {
			d := clone("nomanifest")
			os.Remove(filepath.Join(d, ManifestFile))
			return d
		}, true},
		{"temporary directory with a manifest", func() string {
			return clone("ds" + TempMarker + "123")
		}, true},
		{"half-written manifest", func() string {
			d := clone("halfmanifest")
			writeFile(t, filepath.Join(d, ManifestFile), manifest[:len(manifest)/2])
			return d
		}, true},
		{"images file short", func() string {
			d := clone("short")
			os.Truncate(filepath.Join(d, ImagesFile), 10)
			return d
		}, true},
		{"metadata file missing", func() string {
			d := clone("nometa")
			os.Remove(filepath.Join(d, MetaFile))
			return d
		}, true},
		{"wrong format", func() string {
			d := clone("wrongformat")
			var m map[string]any
			json.Unmarshal(manifest, &m)
			m["format"] = "something-else"
			b, _ := json.Marshal(m)
			writeFile(t, filepath.Join(d, ManifestFile), b)
			return d
		}, false},
		{"not a directory", func() string {
			p := filepath.Join(base, "file")
			writeFile(t, p, []byte("x"))
			return p
		}, false},
		{"does not exist", func() string { return filepath.Join(base, "nothing") }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.make()
			d, err := OpenDir(dir)
			if err == nil {
				d.Close()
				t.Fatalf("%s loaded", dir)
			}
			if tc.incomplete && !errors.Is(err, ErrIncomplete) {
				t.Errorf("error %v does not wrap ErrIncomplete", err)
			}
			if !strings.Contains(err.Error(), filepath.Base(dir)) {
				t.Errorf("error %q does not name the directory", err)
			}
			if _, err := OpenPath(dir); err == nil {
				t.Error("OpenPath loaded it")
			}
		})
	}
	if d, err := OpenDir(good); err != nil {
		t.Fatalf("the intact copy does not load: %v", err)
	} else {
		d.Close()
	}
}

// writeFile writes data to path, making its directory.
func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

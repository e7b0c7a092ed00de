package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestWriteReplacesWhole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "f.bin")
	for _, want := range []string{"first", "second, longer"} {
		if err := Write(path, []byte(want)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Fatalf("read back %q, %v; want %q", got, err, want)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries after two writes, want only the file", len(entries))
	}
}

func TestWritePartsConcatenates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.bin")
	if err := WriteParts(path, []byte("head:"), nil, []byte("body")); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "head:body" {
		t.Fatalf("read back %q, %v", got, err)
	}
}

func TestWriteErrorNamesPath(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(blocker, "x")
	err := Write(target, []byte("y"))
	if err == nil || !strings.Contains(err.Error(), target) {
		t.Fatalf("write under a regular file: err = %v, want one naming %s", err, target)
	}
}

func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{".checkpoint.bin.tmp123", ".v000001.bin.tmp9", ".other.tmp1", "checkpoint.bin", ".hidden"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mine := func(name string) bool { return name == "checkpoint.bin" || filepath.Ext(name) == ".bin" }
	if err := RemoveTemps(dir, mine); err != nil {
		t.Fatal(err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{".hidden", ".other.tmp1", "checkpoint.bin"}
	if !slices.Equal(left, want) {
		t.Fatalf("left %v, want %v", left, want)
	}
	if err := RemoveTemps(filepath.Join(dir, "missing"), mine); err != nil {
		t.Fatalf("missing dir: %v", err)
	}
}

func TestSyncDir(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name    string
		dir     string
		wantErr bool
	}{
		{"existing directory", dir, false},
		{"missing directory", missing, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := SyncDir(tc.dir)
			if (err != nil) != tc.wantErr {
				t.Fatalf("SyncDir(%s) = %v, want error %v", tc.dir, err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tc.dir) {
				t.Errorf("error %q does not name the directory", err)
			}
		})
	}
}

// TestWriteFuncErrorKeepsOld: a stream that fails half-way leaves the old
// file whole and no temporary beside it.
func TestWriteFuncErrorKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.bin")
	if err := Write(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteFunc(path, func(w io.Writer) error {
		w.Write([]byte("half of the new"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want it to wrap the stream's error", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Fatalf("after a failed stream the file holds %q, want %q", got, "old")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("%d entries left in the directory, want only f.bin", len(ents))
	}
}

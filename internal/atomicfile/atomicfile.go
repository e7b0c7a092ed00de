// Package atomicfile writes files so that a crash at any moment leaves the
// old content or the new one, never a torn file: the run directory's
// checkpoints and assignments and the index's pointer files all go through
// it (docs/ARCHITECTURE.md, "Persistence").
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// tempMark is in the name of every temporary file: ".NAME.tmp<random>".
const tempMark = ".tmp"

// Write writes data to path through a temporary file in the same
// directory: write, fsync, rename, fsync the directory. The directory is
// created when missing.
func Write(path string, data []byte) error { return WriteParts(path, data) }

// WriteParts is Write of the parts one after the other, so a large body
// need not be copied behind its header first.
func WriteParts(path string, parts ...[]byte) error {
	return WriteFunc(path, func(w io.Writer) error {
		for _, data := range parts {
			if _, err := w.Write(data); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteFunc is Write of what write streams into the temporary file, for
// a body too large to hold in memory (an export of a million rows). An
// error from write leaves path as it was and no temporary behind.
func WriteFunc(path string, write func(w io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+tempMark+"*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return SyncDir(dir)
}

// SyncDir fsyncs the directory dir, so that the names created, renamed or
// removed in it survive a crash: a rename is durable only once its
// directory is synced. Write does it itself; callers that build a whole
// directory and rename it into place (a dataset directory) call it for
// the directory and its parent.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// RemoveTemps deletes, in dir, the temporary files left by Writes that a
// crash interrupted, for the target names that match accepts: without it
// every crash during a write leaves a file-sized temporary behind for good. Only the process that writes in dir may call it,
// before it writes anything; a missing dir is not an error.
func RemoveTemps(dir string, match func(name string) bool) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("clean %s: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, ".") || !strings.Contains(name, tempMark) {
			continue
		}
		target := strings.TrimPrefix(name[:strings.LastIndex(name, tempMark)], ".")
		if !match(target) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("clean %s: %w", dir, err)
		}
	}
	return nil
}

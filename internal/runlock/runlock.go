// Package runlock keeps two processes from writing one run directory at
// once: `train`, `serve` and `eval --checkpoint` take an exclusive lock on
// the directory before they touch it. The lock is an flock(2) on a file in
// the directory, so the kernel drops it when its holder dies, however it
// dies: a stale lock file of a dead process never blocks. The holder's pid
// is written into the file so that the refusal can name it.
package runlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FileName is the lock file inside a run directory.
const FileName = "LOCK"

// ErrLocked is wrapped by Acquire's error when another process holds the
// directory.
var ErrLocked = errors.New("run directory in use")

// Lock is a held lock; Release gives it up.
type Lock struct {
	f *os.File
}

// Acquire locks dir (created if missing) for this process, or fails
// without waiting, wrapping ErrLocked and naming the directory and the
// holder's pid.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock run directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock run directory %s: %w", dir, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) {
			holder := "another process"
			if b, rerr := os.ReadFile(path); rerr == nil {
				if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
					holder = "process " + strconv.Itoa(pid)
				}
			}
			return nil, fmt.Errorf("%w: %s is locked by %s (%s); stop it or use another directory", ErrLocked, dir, holder, path)
		}
		return nil, fmt.Errorf("lock run directory %s: %w", dir, err)
	}
	// Ours now: record the pid for whoever is refused next.
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock run directory %s: %w", dir, err)
		}
	} else {
		f.Close()
		return nil, fmt.Errorf("lock run directory %s: %w", dir, err)
	}
	return &Lock{f: f}, nil
}

// Release gives the lock up (exiting does too). The file stays: removing
// it would let a third process lock a new file while a second one holds
// the old one.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := unlockFile(l.f)
	err = errors.Join(err, l.f.Close())
	l.f = nil
	return err
}

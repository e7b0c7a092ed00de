//go:build unix

package runlock

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestMain lets the test binary be the other process: with
// RUNLOCK_HOLD=dir it takes the lock, says "held", and waits to be killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("RUNLOCK_HOLD"); dir != "" {
		if _, err := Acquire(dir); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("held")
		select {}
	}
	os.Exit(m.Run())
}

// holder starts a process that holds dir's lock.
func holder(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RUNLOCK_HOLD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "held" {
		t.Fatalf("holder: %q", line)
	}
	return cmd
}

func TestAcquire(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, dir string) (pid int, release func())
		wantErr bool
	}{
		{"fresh directory", func(t *testing.T, dir string) (int, func()) { return 0, nil }, false},
		{"missing directory is created", func(t *testing.T, dir string) (int, func()) {
			os.RemoveAll(dir)
			return 0, nil
		}, false},
		{"stale lock file of a dead process", func(t *testing.T, dir string) (int, func()) {
			cmd := holder(t, dir)
			pid := cmd.Process.Pid
			cmd.Process.Kill() // SIGKILL: no chance to clean up
			cmd.Wait()
			if b, _ := os.ReadFile(filepath.Join(dir, FileName)); strings.TrimSpace(string(b)) != strconv.Itoa(pid) {
				t.Fatalf("the dead holder's lock file says %q, want its pid %d", b, pid)
			}
			return 0, nil
		}, false},
		{"held by another process", func(t *testing.T, dir string) (int, func()) {
			return holder(t, dir).Process.Pid, nil
		}, true},
		{"held by this process", func(t *testing.T, dir string) (int, func()) {
			l, err := Acquire(dir)
			if err != nil {
				t.Fatal(err)
			}
			return os.Getpid(), func() { l.Release() }
		}, true},
		{"released by this process", func(t *testing.T, dir string) (int, func()) {
			l, err := Acquire(dir)
			if err != nil {
				t.Fatal(err)
			}
			l.Release()
			return 0, nil
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			os.MkdirAll(dir, 0o755)
			pid, release := tc.setup(t, dir)
			if release != nil {
				defer release()
			}
			l, err := Acquire(dir)
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Acquire: %v", err)
				}
				defer l.Release()
				b, _ := os.ReadFile(filepath.Join(dir, FileName))
				if strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
					t.Fatalf("lock file says %q, want our pid %d", b, os.Getpid())
				}
				return
			}
			if !errors.Is(err, ErrLocked) {
				t.Fatalf("Acquire of a held directory: %v, want ErrLocked", err)
			}
			if msg := err.Error(); !strings.Contains(msg, dir) || !strings.Contains(msg, "process "+strconv.Itoa(pid)) {
				t.Fatalf("error %q does not name the directory and the holder's pid %d", msg, pid)
			}
		})
	}
}

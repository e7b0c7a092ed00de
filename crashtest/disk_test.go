//go:build linux

package crashtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster/dataset/source"
	"github.com/deepercluster/deepercluster/internal/citest"
	"github.com/deepercluster/deepercluster/internal/runlock"
	"github.com/deepercluster/deepercluster/trainer"
)

// trainArgs are the flags of a tiny, fast training run in dir.
func trainArgs(dir string, epochs int) []string {
	return []string{"train", "--out", dir, "--n", "300", "--size", "16", "--width", "4", "--depth", "2", "--convs", "1",
		"--hidden", "16", "--m", "2", "--k", "3", "--pca-dim", "8", "--recluster-every", "1", "--batch", "32",
		"--epochs", fmt.Sprint(epochs)}
}

// mountTmpfs mounts a tmpfs of the given size (e.g. "4m") on a fresh
// directory; false where mounting is not allowed (not root, or no
// CAP_SYS_ADMIN in a container) or CRASHTEST_NO_MOUNT is set (to try the
// fallbacks).
func mountTmpfs(t *testing.T, size string) (string, bool) {
	t.Helper()
	if os.Geteuid() != 0 || os.Getenv("CRASHTEST_NO_MOUNT") != "" {
		return "", false
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Logf("mount tmpfs: %v", err)
		return "", false
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir, true
}

func remount(t *testing.T, dir, size string, readOnly bool) {
	t.Helper()
	flags := uintptr(syscall.MS_REMOUNT)
	if readOnly {
		flags |= syscall.MS_RDONLY
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, "size="+size); err != nil {
		t.Fatalf("remount %s (read-only %v): %v", dir, readOnly, err)
	}
}

// snapshot is the content of every regular file under dir, but the lock
// file: each process writes its pid there, whatever else it does.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && d.Name() != runlock.FileName {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(dir, path)
			out[rel] = b
		}
		return nil
	})
	return out
}

// unchanged checks that every file of before is still there, byte for
// byte: a failed run must not overwrite anything good.
func unchanged(t *testing.T, dir string, before map[string][]byte) {
	t.Helper()
	after := snapshot(t, dir)
	for name, b := range before {
		if !bytes.Equal(after[name], b) {
			t.Errorf("%s changed or vanished in a failed run (%d bytes before, %d after)", name, len(b), len(after[name]))
		}
	}
	for name := range after {
		if strings.Contains(name, ".tmp") {
			t.Errorf("failed run left %s behind", name)
		}
	}
}

// failsCleanly runs the binary, which must exit with status 1 (an error,
// not a panic: Go panics exit with 2) and print an error containing every
// one of want.
func failsCleanly(t *testing.T, args []string, want ...string) string {
	t.Helper()
	return failsWrapped(t, nil, args, want...)
}

// failsWrapped is failsCleanly under a wrapper command.
func failsWrapped(t *testing.T, wrapper, args []string, want ...string) string {
	t.Helper()
	return failsAs(t, nil, wrapper, args, want...)
}

// failsAs is failsWrapped as another user (cred nil: this one).
func failsAs(t *testing.T, cred *syscall.Credential, wrapper, args []string, want ...string) string {
	t.Helper()
	p := startAs(t, cred, wrapper, args...)
	if err := p.wait(2 * time.Minute); err == nil {
		t.Fatalf("%v succeeded, want a failure:\n%s", args, tail(p.output()))
	}
	out := p.output()
	if code := p.state.ExitCode(); code != 1 {
		t.Fatalf("exit status %d, want 1:\n%s", code, tail(out))
	}
	if strings.Contains(out, "panic:") || strings.Contains(out, "goroutine ") {
		t.Fatalf("panicked:\n%s", tail(out))
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("error does not say %q:\n%s", w, tail(out))
		}
	}
	return out
}

// trainOK runs a training run to the end.
func trainOK(t *testing.T, args []string) {
	t.Helper()
	p := startProc(t, args...)
	if err := p.wait(3 * time.Minute); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, tail(p.output()))
	}
}

func TestTrainDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	dir, mounted := mountTmpfs(t, "4m")
	var limit []string
	if mounted {
		t.Log("full disk: a 4 MiB tmpfs filled up to the last byte")
	} else {
		// No mount: a file size limit makes every write past it fail
		// with EFBIG, as a full disk fails with ENOSPC (Go ignores
		// SIGXFSZ, so the write returns the error).
		prlimit, err := exec.LookPath("prlimit")
		if err != nil {
			citest.Missing(t, "neither a tmpfs mount nor prlimit (Debian util-linux) is available to make a disk full")
		}
		dir = t.TempDir()
		limit = []string{prlimit, "--fsize=8192"}
		t.Log("full disk: tmpfs not mountable here; an 8 KiB file size limit (RLIMIT_FSIZE) instead")
	}
	run := filepath.Join(dir, "run")
	trainOK(t, trainArgs(run, 2))
	before := snapshot(t, run)
	ck, err := trainer.LoadCheckpoint(run)
	if err != nil {
		t.Fatal(err)
	}

	want := []string{"checkpoint.bin", "file too large"}
	if mounted {
		fill(t, filepath.Join(dir, "filler"))
		want = []string{run, "no space left on device"}
	}
	out := failsWrapped(t, limit, trainArgs(run, 4), want...)
	t.Logf("error: %s", lastLine(out))
	unchanged(t, run, before)
	if got, err := trainer.LoadCheckpoint(run); err != nil || got.Epoch != ck.Epoch || got.Version != ck.Version {
		t.Fatalf("checkpoint after the failed run: %+v %v, want epoch %d version %d", got, err, ck.Epoch, ck.Version)
	}

	// Space back: the run resumes and finishes.
	os.Remove(filepath.Join(dir, "filler"))
	trainOK(t, trainArgs(run, 4))
	if got, err := trainer.LoadCheckpoint(run); err != nil || got.Epoch != 4 {
		t.Fatalf("after freeing space: %+v %v, want epoch 4", got, err)
	}
}

// fill writes to path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			break
		}
	}
	for {
		if _, err := f.Write(buf[:1]); err != nil {
			return
		}
	}
}

func TestTrainReadOnlyRunDir(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	dir, mounted := mountTmpfs(t, "8m")
	// Root ignores permission bits: without a mount, the failing run is
	// run as the unprivileged user nobody (65534) on a directory that
	// root owns with mode 0555, so the case runs in CI as root too.
	var cred *syscall.Credential
	if !mounted {
		dir = t.TempDir()
		if os.Geteuid() == 0 {
			cred = &syscall.Credential{Uid: 65534, Gid: 65534}
			// nobody must reach the directory and read the run: open up
			// the test's own directories, nothing above os.TempDir().
			top := os.TempDir()
			for d := dir; strings.HasPrefix(d, top+string(filepath.Separator)); d = filepath.Dir(d) {
				if fi, err := os.Stat(d); err == nil {
					os.Chmod(d, fi.Mode().Perm()|0o055)
				}
			}
			if fi, err := os.Stat(top); err != nil || fi.Mode().Perm()&0o001 == 0 {
				citest.Missing(t, "%s is closed to other users: the unprivileged run cannot reach the run directory (set TMPDIR to a directory others may enter)", top)
			}
		}
	}
	run := filepath.Join(dir, "run")
	trainOK(t, trainArgs(run, 2))
	before := snapshot(t, run)
	want := "read-only file system"
	if mounted {
		remount(t, dir, "8m", true)
	} else {
		want = "permission denied"
		for _, d := range []string{run, filepath.Join(run, trainer.AssignmentDir)} {
			os.Chmod(d, 0o555)
			defer os.Chmod(d, 0o755)
		}
	}
	out := failsAs(t, cred, nil, trainArgs(run, 4), run, want)
	t.Logf("error: %s", lastLine(out))
	unchanged(t, run, before)
	if mounted {
		remount(t, dir, "8m", false)
	} else {
		for _, d := range []string{run, filepath.Join(run, trainer.AssignmentDir)} {
			os.Chmod(d, 0o755)
		}
	}
	trainOK(t, trainArgs(run, 4))
}

func TestTrainNotADirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "plain")
	os.WriteFile(file, []byte("not a run"), 0o644)
	failsCleanly(t, trainArgs(file, 2), file)
	if b, _ := os.ReadFile(file); string(b) != "not a run" {
		t.Fatalf("the file was overwritten: %q", b)
	}

	// A good run whose assignments folder was replaced by a file.
	run := filepath.Join(dir, "run")
	trainOK(t, trainArgs(run, 1))
	asg := filepath.Join(run, trainer.AssignmentDir)
	os.RemoveAll(asg)
	os.WriteFile(asg, []byte("x"), 0o644)
	before := snapshot(t, run)
	failsCleanly(t, trainArgs(run, 2), asg)
	unchanged(t, run, before)
}

// damage is one way to spoil a file.
type damage struct {
	name string
	file func(run string, ck *trainer.Checkpoint) string
	do   func(path string) error
	want string
}

func truncateHalf(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.Truncate(path, st.Size()/2)
}

func flipByte(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	b[len(b)*2/3] ^= 0x5a
	return os.WriteFile(path, b, 0o644)
}

func TestTrainCorruptFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	good := filepath.Join(t.TempDir(), "run")
	trainOK(t, trainArgs(good, 2))
	ck, err := trainer.LoadCheckpoint(good)
	if err != nil {
		t.Fatal(err)
	}
	ckFile := func(run string, _ *trainer.Checkpoint) string { return filepath.Join(run, trainer.CheckpointFile) }
	asgFile := func(run string, ck *trainer.Checkpoint) string { return trainer.AssignmentPath(run, ck.Version) }
	cases := []damage{
		{"checkpoint truncated", ckFile, truncateHalf, "truncated"},
		{"checkpoint bit flip", ckFile, flipByte, "checksum mismatch"},
		{"checkpoint empty", ckFile, func(p string) error { return os.Truncate(p, 0) }, "bad magic"},
		{"checkpoint is a directory", ckFile, func(p string) error { os.Remove(p); return os.Mkdir(p, 0o755) }, "is a directory"},
		{"assignment truncated", asgFile, truncateHalf, "truncated"},
		{"assignment bit flip", asgFile, flipByte, "checksum mismatch"},
		{"assignment missing", asgFile, os.Remove, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run := filepath.Join(t.TempDir(), "run")
			if err := os.CopyFS(run, os.DirFS(good)); err != nil {
				t.Fatal(err)
			}
			path := c.file(run, ck)
			if err := c.do(path); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, run)
			t.Logf("error: %s", lastLine(failsCleanly(t, trainArgs(run, 4), path, c.want)))
			unchanged(t, run, before)
		})
	}
}

func TestServeCorruptFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	const n = 300
	ds, err := source.Open(source.SpecSynthetic, source.Options{N: n, Resolution: 16})
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(t.TempDir(), "run")
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", run, "--n", fmt.Sprint(n), "--size", "16",
		"--width", "4", "--depth", "2", "--convs", "1", "--hidden", "16", "--m", "2", "--k", "3", "--pca-dim", "8",
		"--recluster-every", "1", "--batch", "32", "--epochs", "2"}
	serveToEnd := func() (*trainer.Checkpoint, string) {
		t.Helper()
		p := startProc(t, args...)
		c := waitURL(t, p)
		if _, ok := p.waitLine(2*time.Minute, "training finished"); !ok {
			t.Fatalf("training did not finish:\n%s", tail(p.output()))
		}
		ck, err := trainer.LoadCheckpoint(run)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Minute)
		for {
			var s searchJSON
			if c.get("/api/search?text=sub:%220%22", &s) == nil && s.Result.Version == ck.Version {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("search never answered from version %d", ck.Version)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := p.stop(time.Minute); err != nil {
			t.Fatalf("stop: %v\n%s", err, tail(p.output()))
		}
		return ck, p.output()
	}
	ck, _ := serveToEnd()

	// A spoiled index is derived data: serve says which file it could not
	// read, discards the index and rebuilds it from the Assignment.
	cur, err := os.ReadFile(filepath.Join(run, "index", "CURRENT"))
	if err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(run, "index", strings.TrimSpace(string(cur)))
	var segs []string
	filepath.WalkDir(gen, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			segs = append(segs, p)
		}
		return nil
	})
	if len(segs) == 0 {
		t.Fatalf("no files in index generation %s", gen)
	}
	for _, p := range segs {
		if err := os.WriteFile(p, []byte("garbage"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ck2, out := serveToEnd()
	if !strings.Contains(out, "index unusable") || !strings.Contains(out, filepath.Join(run, "index")) {
		t.Fatalf("serve did not say the index was unusable:\n%s", tail(out))
	}
	if ck2.Version != ck.Version {
		t.Fatalf("version %d after the index rebuild, was %d", ck2.Version, ck.Version)
	}
	if v := checkIndex(t, run, ds, ck2); v != ck2.Version {
		t.Fatalf("rebuilt index at version %d, want %d", v, ck2.Version)
	}

	// A spoiled checkpoint is not: serve refuses to start and keeps it.
	ckPath := filepath.Join(run, trainer.CheckpointFile)
	if err := flipByte(ckPath); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, run)
	for name := range before {
		if strings.HasPrefix(name, "index"+string(filepath.Separator)) {
			delete(before, name) // derived data, opened (and touched by bolt) before the run
		}
	}
	failsCleanly(t, args, ckPath, "checksum mismatch")
	unchanged(t, run, before)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

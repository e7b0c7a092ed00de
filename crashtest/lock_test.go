//go:build unix

package crashtest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster/trainer"
)

// TestSecondProcessRefused: while one process trains in a run directory,
// a second `train`, `serve` or `eval --checkpoint` on it exits 1 naming
// the directory and the holder's pid, and changes nothing; once the
// holder is SIGKILLed, its stale lock blocks no one.
func TestSecondProcessRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	dir := filepath.Join(t.TempDir(), "run")
	holder := startProc(t, trainArgs(dir, 1000)...)
	if _, ok := holder.waitLine(2*time.Minute, "phase=training step="); !ok {
		t.Fatalf("holder did not start training:\n%s", tail(holder.output()))
	}
	pid := strconv.Itoa(holder.cmd.Process.Pid)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"train", trainArgs(dir, 1000)},
		{"serve", []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--n", "300", "--size", "16"}},
		{"eval", []string{"eval", "--checkpoint", dir, "--max-train", "10", "--max-test", "10"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := failsCleanly(t, tc.args, dir, "locked by process "+pid)
			t.Logf("%s", lastLine(out))
			if holder.exited() {
				t.Fatalf("the holder died:\n%s", tail(holder.output()))
			}
		})
	}
	holder.kill()
	// The dead holder's lock file is still there, with its pid; it does
	// not block.
	if b, _ := os.ReadFile(filepath.Join(dir, "LOCK")); strings.TrimSpace(string(b)) != pid {
		t.Fatalf("lock file %q, want the holder's pid %s", b, pid)
	}
	p := startProc(t, trainArgs(dir, 1000)...)
	if _, ok := p.waitLine(2*time.Minute, "resumed run"); !ok {
		t.Fatalf("a stale lock blocked the next run:\n%s", tail(p.output()))
	}
	p.kill()
}

// TestKillMidEpochResumesSameWeights: with --checkpoint-every, a SIGKILL
// in the middle of an epoch loses at most that much: the restart goes on
// at the checkpointed step of the same epoch, and ends with exactly the
// weights of a run that was never killed.
func TestKillMidEpochResumesSameWeights(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	args := func(dir string) []string {
		return []string{"train", "--out", dir, "--n", "1200", "--size", "16", "--width", "4", "--depth", "2", "--convs", "1",
			"--hidden", "16", "--m", "2", "--k", "3", "--pca-dim", "8", "--recluster-every", "1", "--batch", "32",
			"--epochs", "3", "--lr-schedule", "cosine", "--checkpoint-every", "1ns"}
	}
	ref := filepath.Join(t.TempDir(), "ref")
	trainOK(t, args(ref))
	want, err := trainer.LoadCheckpoint(ref)
	if err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "run")
	var ck *trainer.Checkpoint
	for try := 1; ; try++ {
		p := startProc(t, args(dir)...)
		if _, ok := p.waitLine(2*time.Minute, "epoch=2 epochs=3 phase=training step="); !ok {
			t.Fatalf("no second epoch:\n%s", tail(p.output()))
		}
		p.kill()
		if ck, err = trainer.LoadCheckpoint(dir); err != nil {
			t.Fatal(err)
		}
		if ck.Epoch == 1 && ck.Step > 0 {
			break
		}
		if try == maxTries {
			t.Fatalf("%d kills during the second epoch never left a checkpoint inside it (last: epoch %d step %d)", try, ck.Epoch, ck.Step)
		}
		os.RemoveAll(dir)
	}
	// Resumed as `serve` would: without the schedule flags.
	resume := slices.DeleteFunc(args(dir), func(s string) bool { return s == "--lr-schedule" || s == "cosine" })
	p := startProc(t, resume...)
	line, ok := p.waitLine(2*time.Minute, "resumed run")
	if !ok || !strings.Contains(line, fmt.Sprintf("epoch=1 step=%d ", ck.Step)) || !strings.Contains(line, "lr_schedule=cosine") {
		t.Fatalf("resumed at %q, want epoch 1 step %d on the cosine schedule:\n%s", line, ck.Step, tail(p.output()))
	}
	if err := p.wait(3 * time.Minute); err != nil {
		t.Fatalf("resumed run: %v\n%s", err, tail(p.output()))
	}
	got, err := trainer.LoadCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Epoch != want.Epoch || got.TotalSteps != want.TotalSteps || len(got.Tensors) != len(want.Tensors) {
		t.Fatalf("final checkpoint epoch %d, %d steps; the uninterrupted run's epoch %d, %d steps", got.Epoch, got.TotalSteps, want.Epoch, want.TotalSteps)
	}
	for i, w := range want.Tensors {
		if g := got.Tensors[i]; g.Name != w.Name || !slices.Equal(g.Data, w.Data) {
			t.Fatalf("tensor %s differs from the uninterrupted run's", w.Name)
		}
	}
}

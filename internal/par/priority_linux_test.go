//go:build linux

package par

import (
	"runtime"
	"testing"
)

// TestLowerPriorityLowersOnlyItsThread: the goroutine that calls
// LowerPriority runs at BackgroundNice; a thread locked elsewhere keeps
// the process's priority.
func TestLowerPriorityLowersOnlyItsThread(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	base, err := threadNice()
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		nice int
		err  error
	}
	lowered := make(chan result)
	go func() {
		if err := LowerPriority(); err != nil {
			lowered <- result{err: err}
			return
		}
		n, err := threadNice()
		lowered <- result{n, err}
	}()
	r := <-lowered
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.nice != BackgroundNice {
		t.Fatalf("nice %d after LowerPriority, want %d", r.nice, BackgroundNice)
	}
	n, err := threadNice()
	if err != nil {
		t.Fatal(err)
	}
	if n != base {
		t.Fatalf("this thread's nice went from %d to %d: LowerPriority changed more than its own thread", base, n)
	}
}

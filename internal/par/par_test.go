package par

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestReserveForRequests(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)
	ctx, cancel := context.WithCancel(context.Background())
	// The reservation is once per process: undo it for the next run
	// (-count) and the other tests.
	t.Cleanup(func() {
		cancel()
		once = sync.Once{}
		kernelThreads.Store(0)
		inFlight.Store(0)
	})
	const linger = 20 * time.Millisecond
	// settled polls until GOMAXPROCS is want (the release runs on a ticker).
	settled := func(want int) bool {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if runtime.GOMAXPROCS(0) == want {
				return true
			}
		}
		return false
	}
	var giveBack func()
	steps := []struct {
		name             string
		do               func()
		wantProcs, wantT int
	}{
		{"before: kernels use every P", func() {}, procs, procs},
		{"a request before the reservation lends nothing", func() { RequestStarted(); RequestDone() }, procs, procs},
		{"reserved, idle: no extra P", func() { ReserveForRequests(ctx, linger) }, procs, procs},
		{"a request in flight: one more P, kernels as before", RequestStarted, procs + 1, procs},
		{"a second one changes nothing", RequestStarted, procs + 1, procs},
		{"one of two done: still lent", RequestDone, procs + 1, procs},
		{"a second reservation changes nothing", func() { ReserveForRequests(ctx, time.Hour) }, procs + 1, procs},
		{"none in flight for the linger: taken back", RequestDone, procs, procs},
		{"lent to background work: one more P", func() { giveBack = Lend() }, procs + 1, procs},
		{"given back twice, once counted: taken back", func() { giveBack(); giveBack() }, procs, procs},
		{"a request after that borrows it again", RequestStarted, procs + 1, procs},
		{"and gives it back", RequestDone, procs, procs},
	}
	for _, s := range steps {
		s.do()
		if !settled(s.wantProcs) || Threads() != s.wantT {
			t.Fatalf("%s: GOMAXPROCS %d, Threads %d; want %d and %d", s.name, runtime.GOMAXPROCS(0), Threads(), s.wantProcs, s.wantT)
		}
		if s.wantProcs == procs+1 {
			// Lent while in flight: the release must not take it back.
			time.Sleep(3 * linger)
			if got := runtime.GOMAXPROCS(0); got != procs+1 {
				t.Fatalf("%s: GOMAXPROCS %d after %v with a request in flight, want %d", s.name, got, 3*linger, procs+1)
			}
		}
	}
}

func TestFor(t *testing.T) {
	for _, tc := range []struct{ n, threads int }{{0, 4}, {1, 4}, {5, 1}, {5, 2}, {7, 3}, {3, 8}, {1000, 7}} {
		var mu sync.Mutex
		seen := make([]int, tc.n)
		calls := 0
		For(tc.n, tc.threads, func(lo, hi int) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if lo >= hi {
				t.Errorf("n=%d threads=%d: empty range [%d, %d)", tc.n, tc.threads, lo, hi)
			}
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		})
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("n=%d threads=%d: index %d covered %d times", tc.n, tc.threads, i, c)
			}
		}
		if want := min(tc.n, max(tc.threads, 1)); calls != want {
			t.Errorf("n=%d threads=%d: %d ranges, want %d", tc.n, tc.threads, calls, want)
		}
	}
}

func TestChunks(t *testing.T) {
	for _, tc := range []struct{ chunks, threads int }{{0, 2}, {1, 2}, {10, 1}, {10, 3}, {3, 10}} {
		var mu sync.Mutex
		seen := make([]int, tc.chunks)
		workers := map[int]bool{}
		err := Chunks(context.Background(), tc.chunks, tc.threads, func(w, c int) {
			mu.Lock()
			defer mu.Unlock()
			seen[c]++
			workers[w] = true
		})
		if err != nil {
			t.Fatal(err)
		}
		for c, n := range seen {
			if n != 1 {
				t.Fatalf("chunks=%d threads=%d: chunk %d ran %d times", tc.chunks, tc.threads, c, n)
			}
		}
		for w := range workers {
			if w < 0 || w >= min(tc.chunks, tc.threads) {
				t.Errorf("chunks=%d threads=%d: worker index %d out of range", tc.chunks, tc.threads, w)
			}
		}
	}
}

func TestChunksStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ran := 0
	err := Chunks(ctx, 100, 1, func(w, c int) {
		ran++
		if c == 4 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || ran != 5 {
		t.Fatalf("Chunks after cancel at chunk 4: ran %d chunks, err %v; want 5 and context.Canceled", ran, err)
	}
}

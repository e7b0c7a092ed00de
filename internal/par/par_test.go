package par

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
)

func TestReserveForRequests(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)
	steps := []struct {
		name             string
		do               func()
		wantProcs, wantT int
	}{
		{"before: kernels use every P", func() {}, procs, procs},
		{"reserved: one more P, kernels as before", ReserveForRequests, procs + 1, procs},
		{"a second call changes nothing", ReserveForRequests, procs + 1, procs},
	}
	for _, s := range steps {
		s.do()
		if got, gotT := runtime.GOMAXPROCS(0), Threads(); got != s.wantProcs || gotT != s.wantT {
			t.Fatalf("%s: GOMAXPROCS %d, Threads %d; want %d and %d", s.name, got, gotT, s.wantProcs, s.wantT)
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

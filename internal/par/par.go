// Package par says how many goroutines compute kernels (GEMM, k-means,
// the CPU backend's ops, index batches) run on. It is GOMAXPROCS, except
// in a process that keeps a P for request handling (`serve`): there a
// search never waits for the Go scheduler to preempt a training kernel
// before it can run, only for the operating system, which shares the
// cores between the kernels' threads and the one serving it.
package par

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

var (
	reserved atomic.Int32
	once     sync.Once
)

// ReserveForRequests raises GOMAXPROCS by one and keeps that P out of
// compute kernels: the P is idle, and costs nothing, until requests come.
// Calls after the first do nothing.
func ReserveForRequests() {
	once.Do(func() {
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
		reserved.Store(1)
	})
}

// Threads is the number of goroutines a compute kernel should use.
func Threads() int {
	return max(1, runtime.GOMAXPROCS(0)-int(reserved.Load()))
}

// Workers runs work(0), ..., work(n-1) at once, work(0) on the calling
// goroutine, and returns when all have. It is for kernels that split their
// own work by worker index (a GEMM's panels, say); n <= 1 runs work(0) alone.
func Workers(n int, work func(w int)) {
	if n <= 1 {
		work(0)
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(w)
		}()
	}
	work(0)
	wg.Wait()
}

// For splits [0, n) into min(threads, n) contiguous ranges of nearly equal
// length and runs fn(lo, hi) on each at once. Which range a goroutine gets
// is fixed by n and threads alone, so results that depend on the split
// (per-range partial sums) are repeatable for a thread count.
func For(n, threads int, fn func(lo, hi int)) {
	w := min(threads, n)
	if w <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	Workers(w, func(i int) { fn(i*n/w, (i+1)*n/w) })
}

// Chunks runs work(w, c) for every chunk c in [0, chunks) on
// min(threads, chunks) goroutines, which take the next chunk as they
// finish one (uneven chunks balance themselves); w, in [0, workers), names
// the goroutine, so per-worker scratch needs no lock. Which worker takes a
// chunk varies from run to run: results must depend on c, never on w.
// Chunks stops handing out chunks once ctx is done and returns ctx.Err().
func Chunks(ctx context.Context, chunks, threads int, work func(w, c int)) error {
	if chunks <= 0 {
		return ctx.Err()
	}
	var next atomic.Int64
	Workers(min(max(threads, 1), chunks), func(w int) {
		for ctx.Err() == nil {
			c := int(next.Add(1)) - 1
			if c >= chunks {
				return
			}
			work(w, c)
		}
	})
	return ctx.Err()
}

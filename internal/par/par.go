// Package par says how many goroutines compute kernels (GEMM, k-means,
// the CPU backend's ops, index batches) run on. It is GOMAXPROCS, except
// in a process that lends a P to request handling (`serve`): there the
// kernels keep the thread count they had, and while a request is in
// flight GOMAXPROCS is one more, so a search never waits for the Go
// scheduler to preempt a training kernel before it can run, only for the
// operating system, which shares the cores between the kernels' threads
// and the one serving it. While no request is in flight the extra P is
// taken back: an idle P costs the kernels about a sixth of their speed on
// 2 cores (its spinning threads wake for every goroutine a kernel starts;
// docs/PERFORMANCE.md, "serve at train's speed").
package par

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// The request reservation is process-wide because GOMAXPROCS is.
var (
	once          sync.Once
	kernelThreads atomic.Int32 // > 0 once ReserveForRequests ran
	inFlight      atomic.Int64 // requests between RequestStarted and RequestDone
	lastDone      atomic.Int64 // time.Now().UnixNano() of the last RequestDone
	procsMu       sync.Mutex   // orders the GOMAXPROCS changes
)

// ReserveForRequests fixes the kernels' thread count at the current
// GOMAXPROCS and, from then on, lends one more P while requests are in
// flight (RequestStarted, RequestDone). The P is taken back once none has
// been in flight for linger, checked until ctx is done, so that a burst of
// requests costs one GOMAXPROCS change each way, not one per request.
// Calls after the first do nothing.
func ReserveForRequests(ctx context.Context, linger time.Duration) {
	once.Do(func() {
		kernelThreads.Store(int32(runtime.GOMAXPROCS(0)))
		tick := max(linger/4, time.Millisecond)
		go func() {
			t := time.NewTicker(tick)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					releaseIdle(linger)
				}
			}
		}()
	})
}

// RequestStarted says a request is being handled: the first of a burst
// lends the kernels' spare P to it. It does nothing before
// ReserveForRequests.
func RequestStarted() {
	base := int(kernelThreads.Load())
	if base == 0 {
		return
	}
	if inFlight.Add(1) == 1 {
		procsMu.Lock()
		if runtime.GOMAXPROCS(0) <= base {
			runtime.GOMAXPROCS(base + 1)
		}
		procsMu.Unlock()
	}
}

// RequestDone ends what RequestStarted began.
func RequestDone() {
	if kernelThreads.Load() == 0 {
		return
	}
	lastDone.Store(time.Now().UnixNano())
	inFlight.Add(-1)
}

// Lend lends the spare P, as RequestStarted does, to work that must not
// take one of the kernels' Ps, until the returned function is called (once
// or more). The server's background map runs on a thread of lowered
// priority (LowerPriority), but a goroutine holds a Go P while it runs,
// whatever its thread's nice value: without a P of its own it would take
// one of the kernels' and the Go scheduler, not the kernel, would share
// the cores, at training's expense. With its own P, the kernel runs it
// only where training leaves a core idle. It does nothing before
// ReserveForRequests.
func Lend() (giveBack func()) {
	RequestStarted()
	var once sync.Once
	return func() { once.Do(RequestDone) }
}

// releaseIdle takes the lent P back when no request has been in flight
// for linger.
func releaseIdle(linger time.Duration) {
	base := int(kernelThreads.Load())
	procsMu.Lock()
	defer procsMu.Unlock()
	if inFlight.Load() == 0 && time.Since(time.Unix(0, lastDone.Load())) >= linger && runtime.GOMAXPROCS(0) > base {
		runtime.GOMAXPROCS(base)
	}
}

// Threads is the number of goroutines a compute kernel should use.
func Threads() int {
	if n := kernelThreads.Load(); n > 0 {
		return int(n)
	}
	return runtime.GOMAXPROCS(0)
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

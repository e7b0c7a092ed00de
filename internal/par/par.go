// Package par says how many goroutines compute kernels (GEMM, k-means,
// the CPU backend's ops, index batches) run on. It is GOMAXPROCS, except
// in a process that keeps a P for request handling (`serve`): there a
// search never waits for the Go scheduler to preempt a training kernel
// before it can run, only for the operating system, which shares the
// cores between the kernels' threads and the one serving it.
package par

import (
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

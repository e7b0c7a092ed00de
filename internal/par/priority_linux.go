//go:build linux

package par

import (
	"fmt"
	"runtime"
	"syscall"
)

// BackgroundNice is the nice value LowerPriority gives a thread: the
// lowest, so that the kernel hands a core to it only when the compute
// kernels' threads (nice 0) leave one idle.
const BackgroundNice = 19

// LowerPriority locks the calling goroutine to its OS thread and lowers
// that thread's scheduling priority to BackgroundNice, for background work
// (the server's 2D map) that must not take cores from training. The
// thread is never unlocked: it exits with the goroutine, so a lowered
// thread never goes back to the runtime's pool. Call it first thing in a
// goroutine of its own, which must not start goroutines of its own for
// the work (they would run on ordinary threads): give its kernels one
// thread. It returns the error of the system call; the goroutine then
// still runs, at normal priority.
func LowerPriority() error {
	runtime.LockOSThread()
	// On Linux a PRIO_PROCESS who of a thread id sets that thread alone.
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), BackgroundNice); err != nil {
		return fmt.Errorf("lower thread priority: %w", err)
	}
	return nil
}

// threadNice is the calling thread's nice value (for tests).
func threadNice() (int, error) {
	// The raw system call answers 20 - nice (so that it is never negative).
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	if err != nil {
		return 0, err
	}
	return 20 - p, nil
}

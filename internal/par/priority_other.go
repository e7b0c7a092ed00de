//go:build !linux

package par

import "runtime"

// BackgroundNice is the nice value LowerPriority would give a thread on
// Linux; elsewhere threads keep theirs.
const BackgroundNice = 19

// LowerPriority locks the calling goroutine to its OS thread, as on Linux,
// but leaves its priority: only Linux sets one thread's. See the Linux
// version for how to call it.
func LowerPriority() error {
	runtime.LockOSThread()
	return nil
}

func threadNice() (int, error) { return 0, nil }

//go:build !unix

package runlock

import (
	"errors"
	"os"
)

// Elsewhere than unix there is no flock: the pid is still recorded, but
// the lock does not exclude (the module builds and runs; two processes on
// one directory are not caught).
var errWouldBlock = errors.New("would block")

func lockFile(*os.File) error   { return nil }
func unlockFile(*os.File) error { return nil }

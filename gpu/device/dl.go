package device

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unsafe"

	"github.com/ebitengine/purego"
)

// libSearch is where a driver library is looked for: first by soname
// through the dynamic loader (LD_LIBRARY_PATH, /etc/ld.so.cache, /lib,
// /usr/lib), then at the absolute paths that distributions and
// containers use outside the loader's path. env names a variable that,
// when set, is the only path tried.
type libSearch struct {
	soname string
	env    string
	extra  []string
}

// open dlopens the library and returns its handle and the path that
// worked. On failure the error wraps ErrUnavailable and names the
// library and every place searched, in one line.
func (s libSearch) open() (uintptr, string, error) {
	candidates := append([]string{s.soname}, s.extra...)
	if p := os.Getenv(s.env); p != "" {
		candidates = []string{p}
	}
	var searched, failures []string
	for _, c := range candidates {
		if filepath.IsAbs(c) {
			if _, err := os.Stat(c); err != nil {
				searched = append(searched, c)
				continue
			}
		}
		h, err := dlopen(c)
		if err == nil {
			return h, c, nil
		}
		if c == s.soname {
			searched = append(searched, "the dynamic loader's path (LD_LIBRARY_PATH, /etc/ld.so.cache, /lib, /usr/lib)")
		} else {
			searched = append(searched, c)
		}
		if e := err.Error(); e != "" && !strings.Contains(e, "No such file") {
			failures = append(failures, e)
		}
	}
	var msg string
	if p := os.Getenv(s.env); p != "" {
		msg = fmt.Sprintf("%s not loaded from %s=%s", s.soname, s.env, p)
		if len(failures) == 0 {
			msg += " (no such file)"
		}
	} else {
		msg = fmt.Sprintf("%s not found (searched %s; set %s to its path)", s.soname, strings.Join(searched, ", "), s.env)
	}
	if len(failures) > 0 {
		msg += ": " + strings.Join(failures, "; ")
	}
	return 0, "", fmt.Errorf("%s: %w", msg, ErrUnavailable)
}

// dlopen opens one library on a locked OS thread: dlerror's message is
// per thread, and a goroutine that moved between dlopen and dlerror would
// read another thread's (empty) message.
func dlopen(path string) (uintptr, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
}

// symbols resolves each name into the matching *uintptr.
func symbols(lib uintptr, libName string, syms map[string]*uintptr) error {
	var missing []string
	for name, p := range syms {
		fn, err := purego.Dlsym(lib, name)
		if err != nil || fn == 0 {
			missing = append(missing, name)
			continue
		}
		*p = fn
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s lacks %s (driver too old?): %w", libName, strings.Join(missing, ", "), ErrUnavailable)
	}
	return nil
}

// call invokes a C function of integer and pointer arguments and returns
// its integer result.
func call(fn uintptr, args ...uintptr) uintptr {
	r, _, _ := purego.SyscallN(fn, args...)
	return r
}

// goString copies the NUL-terminated C string at p.
func goString(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return strings.Clone(unsafe.String(p, n))
}

// cString is s as a NUL-terminated byte slice for C.
func cString(s string) []byte { return append([]byte(s), 0) }

// errClosed is returned by every call on a closed device.
var errClosed = errors.New("device is closed")

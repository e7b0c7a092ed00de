//go:build unix

package dataset

import (
	"fmt"
	"os"
	"syscall"
)

// mapFile maps a file read-only; the page cache then serves reads from any
// goroutine without a copy into the heap.
func mapFile(path string) ([]byte, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.Size() == 0 {
		return []byte{}, func() error { return nil }, nil
	}
	if st.Size() != int64(int(st.Size())) {
		return nil, nil, fmt.Errorf("%s: %d bytes do not fit in memory", path, st.Size())
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		// Some file systems cannot map: fall back to reading.
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, err
		}
		return b, func() error { return nil }, nil
	}
	return b, func() error { return syscall.Munmap(b) }, nil
}

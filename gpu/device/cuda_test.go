package device

import (
	"errors"
	"strings"
	"testing"
	"unsafe"
)

// openCUDA opens the CUDA device or skips the test when this machine has
// no NVIDIA driver or GPU: the one kind of skip these tests allow, since
// CI has no GPU (scripts/gpu-check.sh runs them where there is one).
func openCUDA(t *testing.T) Device {
	t.Helper()
	d, err := OpenCUDA()
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("no NVIDIA GPU here, so the CUDA device is not tested (scripts/gpu-check.sh runs this on a GPU): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	return d
}

func TestCUDASelfTest(t *testing.T) {
	d := openCUDA(t)
	if d.Kind() != "cuda" || d.Name() == "" || d.MemoryBytes() <= 0 {
		t.Fatalf("kind %q name %q memory %d", d.Kind(), d.Name(), d.MemoryBytes())
	}
	t.Logf("device %q, %d MiB", d.Name(), d.MemoryBytes()>>20)
	runSelfTests(t, d)
	must(t, d.Finish())
}

func TestCUDAErrors(t *testing.T) {
	runErrorCases(t, openCUDA(t))
}

func TestCUDAGraphs(t *testing.T) {
	runGraphTest(t, openCUDA(t))
}

// TestCUDAUnavailable checks the one line --device cuda prints where the
// driver library is missing; it runs everywhere.
func TestCUDAUnavailable(t *testing.T) {
	t.Run("library path that does not exist", func(t *testing.T) {
		t.Setenv(CUDALibraryEnv, "/nonexistent/libcuda.so.1")
		_, err := OpenCUDA()
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "libcuda.so.1 not loaded from "+CUDALibraryEnv+"=/nonexistent/libcuda.so.1") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("this machine", func(t *testing.T) {
		d, err := OpenCUDA()
		if err == nil {
			// A GPU machine: the missing-library message was checked in
			// the subtest above; here opening must simply work.
			if d.Kind() != "cuda" {
				t.Errorf("kind %q", d.Kind())
			}
			must(t, d.Close())
			return
		}
		msg := err.Error()
		if !errors.Is(err, ErrUnavailable) || strings.Contains(msg, "\n") {
			t.Fatalf("err = %q, want one line wrapping ErrUnavailable", msg)
		}
		if strings.Contains(msg, "not found") {
			for _, want := range []string{"cuda: libcuda.so.1 not found", "dynamic loader's path", "/usr/local/nvidia/lib64/libcuda.so.1", CUDALibraryEnv} {
				if !strings.Contains(msg, want) {
					t.Errorf("message lacks %q: %s", want, msg)
				}
			}
		}
		t.Log(msg)
	})
}

// TestCUDAPackParams checks the argument block cuLaunchKernel reads: one
// slot per argument, each pointed to by the void** array, holding the
// device pointer or the int32/float32 bits.
func TestCUDAPackParams(t *testing.T) {
	buf := &cuBuffer{ptr: 0xdead_beef_0000_1230, n: 4}
	slots, params := packParams([]any{buf, int32(-7), float32(1.5), int32(1 << 30)})
	if len(slots) != 4 || len(params) != 4 {
		t.Fatalf("%d slots, %d params", len(slots), len(params))
	}
	for i := range params {
		if params[i] != unsafe.Pointer(&slots[i]) {
			t.Errorf("params[%d] does not point at slot %d", i, i)
		}
	}
	if got := *(*uint64)(params[0]); got != buf.ptr {
		t.Errorf("pointer slot %#x", got)
	}
	if got := *(*int32)(params[1]); got != -7 {
		t.Errorf("int32 slot %d", got)
	}
	if got := *(*float32)(params[2]); got != 1.5 {
		t.Errorf("float32 slot %g", got)
	}
	if got := *(*int32)(params[3]); got != 1<<30 {
		t.Errorf("int32 slot %d", got)
	}
	if s, p := packParams(nil); len(s) != 0 || len(p) != 0 {
		t.Error("no arguments gave slots")
	}
}

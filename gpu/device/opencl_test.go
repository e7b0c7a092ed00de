package device

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/deepercluster/deepercluster/gpu/kernels"
)

// openOpenCL opens the OpenCL device for a test. OpenCL is required in CI
// (PoCL, installed by scripts/install-deps.sh), so its absence fails.
func openOpenCL(t *testing.T) Device {
	t.Helper()
	d, err := OpenOpenCL()
	if err != nil {
		t.Fatalf("OpenCL is required for this test (make deps installs pocl-opencl-icd and ocl-icd-libopencl1): %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	return d
}

func TestOpenCLSelfTest(t *testing.T) {
	d := openOpenCL(t)
	if d.Kind() != "opencl" || d.Name() == "" || d.MemoryBytes() <= 0 {
		t.Fatalf("kind %q name %q memory %d", d.Kind(), d.Name(), d.MemoryBytes())
	}
	t.Logf("device %q, %d MiB", d.Name(), d.MemoryBytes()>>20)
	runSelfTests(t, d)
	must(t, d.Finish())
}

// TestOpenCLErrors checks that each misuse fails with an error that says
// what is wrong, before anything reaches the driver where it can.
func TestOpenCLErrors(t *testing.T) {
	d := openOpenCL(t)
	runErrorCases(t, d)
}

// runErrorCases is shared with the CUDA tests.
func runErrorCases(t *testing.T, d Device) {
	b := alloc(t, d, 10)
	other := &clBuffer{n: 40}
	freed, err := d.Alloc(40)
	must(t, err)
	d.Free(freed)
	d.Free(freed) // a second Free does nothing
	d.Free(nil)
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"unknown kernel", d.Launch("no_such_kernel", Dim{1}, Dim{1}), "no such kernel"},
		{"too few arguments", d.Launch("selftest_fill", Dim{1}, Dim{1}, b, int32(0)), "2 arguments, the kernel takes 4"},
		{"int instead of int32", d.Launch("selftest_fill", Dim{1}, Dim{1}, b, 0, int32(1), float32(1)), "argument 1 is int"},
		{"float32 for an int", d.Launch("selftest_fill", Dim{1}, Dim{1}, b, int32(0), float32(1), float32(1)), "argument 2 is a float32, the kernel wants a int32"},
		{"negative grid", d.Launch("selftest_fill", Dim{-1}, Dim{1}, b, int32(0), int32(1), float32(1)), "negative dimension"},
		{"write past the end", d.WriteF32(b, 8, make([]float32, 3)), "elements [8, 11) outside a buffer of 40 bytes"},
		{"read at a negative offset", d.ReadI32(b, -1, make([]int32, 1)), "outside a buffer"},
		{"foreign buffer", d.WriteF32(other, 0, []float32{1}), "not from this device"},
		{"freed buffer", d.ReadF32(freed, 0, []float32{1}), "buffer was freed"},
	}
	for _, tc := range tests {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, tc.err, tc.want)
		}
	}
	// An empty grid queues nothing and is not an error; the device is
	// still usable after all of the above.
	must(t, d.Launch("selftest_fill", Dim{0}, Dim{64}, b, int32(0), int32(10), float32(1)))
	must(t, d.Launch("selftest_fill", Dim{1}, Dim{64}, b, int32(0), int32(10), float32(3)))
	got := make([]float32, 10)
	must(t, d.ReadF32(b, 0, got))
	if got[9] != 3 {
		t.Errorf("after the errors, fill gave %v", got)
	}
	must(t, d.Finish())
}

// TestOpenCLBuildLog builds a kernel with a syntax error and checks that
// the error names the file and carries the compiler's message with the
// source's own line number, and that -D defines from dc:define lines
// reach the compiler, and a shared header's DEVICE helper is spliced in.
func TestOpenCLBuildLog(t *testing.T) {
	compat, err := os.ReadFile("../kernels/compat.h")
	must(t, err)
	lib, err := kernels.Load(fstest.MapFS{
		"compat.h":  {Data: compat},
		"broken.cl": {Data: []byte("#include \"compat.h\"\n\nKERNEL broken(GLOBAL float *x) {\n\tx[0] = undeclared_name;\n}\n")},
		"defs.cl":   {Data: []byte("#include \"compat.h\"\n// dc:define SCALE=3 OFFSET=0.5f\nKERNEL defs(GLOBAL float *x) {\n\tx[GLOBAL_ID(0)] = SCALE * GLOBAL_ID(0) + OFFSET;\n}\n")},
	})
	must(t, err)
	d, err := OpenOpenCLWith(lib, os.Getenv(OpenCLDeviceEnv))
	if err != nil {
		t.Fatalf("OpenCL is required for this test: %v", err)
	}
	defer d.Close()
	b, err := d.Alloc(16)
	must(t, err)
	err = d.Launch("broken", Dim{1}, Dim{1}, b)
	if err == nil {
		t.Fatal("a kernel with an undeclared name built")
	}
	for _, want := range []string{"build broken.cl", "CL_BUILD_PROGRAM_FAILURE", "undeclared_name", "broken.cl:4"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("build error lacks %q:\n%v", want, err)
		}
	}
	must(t, d.Launch("defs", Dim{1}, Dim{4}, b))
	got := make([]float32, 4)
	must(t, d.ReadF32(b, 0, got))
	for i, v := range got {
		if want := float32(3*i) + 0.5; v != want {
			t.Errorf("defs: x[%d] = %g, want %g", i, v, want)
		}
	}
}

// TestOpenCLUnavailable checks the errors --device opencl prints: a
// missing library and a selector that names no device both wrap
// ErrUnavailable and say what is missing, in one line.
func TestOpenCLUnavailable(t *testing.T) {
	t.Run("no library", func(t *testing.T) {
		t.Setenv(OpenCLLibraryEnv, "/nonexistent/libOpenCL.so.1")
		_, err := OpenOpenCL()
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "libOpenCL.so.1") || !strings.Contains(err.Error(), "/nonexistent/libOpenCL.so.1") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no such device", func(t *testing.T) {
		t.Setenv(OpenCLDeviceEnv, "no-such-device-xyz")
		_, err := OpenOpenCL()
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "no OpenCL device matches") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("closed device", func(t *testing.T) {
		d, err := OpenOpenCL()
		if err != nil {
			t.Fatalf("OpenCL is required for this test: %v", err)
		}
		must(t, d.Close())
		must(t, d.Close())
		if _, err := d.Alloc(4); err == nil || !strings.Contains(err.Error(), "closed") {
			t.Errorf("Alloc after Close: %v", err)
		}
	})
}

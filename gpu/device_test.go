package gpu

import (
	"testing"

	"github.com/deepercluster/deepercluster/gpu/device"
)

// openTestDevice opens the OpenCL device for a test; the test closes it.
// OpenCL is required in CI (PoCL, installed by make deps), so its absence
// fails rather than skips.
func openTestDevice(t testing.TB) device.Device {
	t.Helper()
	d, err := device.OpenOpenCL()
	if err != nil {
		t.Fatalf("OpenCL is required for this test (make deps installs pocl-opencl-icd and ocl-icd-libopencl1): %v", err)
	}
	return d
}

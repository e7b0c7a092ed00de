package gpu

import (
	"errors"
	"testing"

	"github.com/deepercluster/deepercluster/gpu/device"
)

// deviceChecks are the tests of this package that run on a device: each
// runs on OpenCL (PoCL in CI) as TestOpenCL<name>, and on CUDA, where a GPU
// is present, as TestCUDA/<name>.
var deviceChecks = []struct {
	name string
	run  func(*testing.T, device.Device)
}{
	{"Gemm", testGemm},
	{"Conv", testConv},
	{"BatchNorm", testBatchNorm},
	{"Pool", testPool},
	{"Elementwise", testElementwise},
	{"Heads", testHeads},
	{"KMeansAssign", testKMeansAssign},
	{"KMeansUpdate", testKMeansUpdate},
	{"StepMatchesCPU", testStepMatchesCPU},
	{"GraphMatchesPlain", testGraphMatchesPlain},
	{"LossFalls", testLossFalls},
	{"BackendContract", testBackendContract},
}

func onOpenCL(t *testing.T, name string) {
	for _, c := range deviceChecks {
		if c.name == name {
			dev := openTestDevice(t)
			defer dev.Close()
			c.run(t, dev)
			return
		}
	}
	t.Fatalf("no device check %q", name)
}

func TestOpenCLGemm(t *testing.T)              { onOpenCL(t, "Gemm") }
func TestOpenCLConv(t *testing.T)              { onOpenCL(t, "Conv") }
func TestOpenCLBatchNorm(t *testing.T)         { onOpenCL(t, "BatchNorm") }
func TestOpenCLPool(t *testing.T)              { onOpenCL(t, "Pool") }
func TestOpenCLElementwise(t *testing.T)       { onOpenCL(t, "Elementwise") }
func TestOpenCLHeads(t *testing.T)             { onOpenCL(t, "Heads") }
func TestOpenCLKMeansAssign(t *testing.T)      { onOpenCL(t, "KMeansAssign") }
func TestOpenCLKMeansUpdate(t *testing.T)      { onOpenCL(t, "KMeansUpdate") }
func TestOpenCLStepMatchesCPU(t *testing.T)    { onOpenCL(t, "StepMatchesCPU") }
func TestOpenCLGraphMatchesPlain(t *testing.T) { onOpenCL(t, "GraphMatchesPlain") }
func TestOpenCLLossFalls(t *testing.T)         { onOpenCL(t, "LossFalls") }
func TestOpenCLBackendContract(t *testing.T)   { onOpenCL(t, "BackendContract") }

// TestCUDA runs every device check on the CUDA GPU, or skips when this
// machine has none: the one kind of skip allowed (CI has no GPU;
// scripts/gpu-check.sh runs this where there is one).
func TestCUDA(t *testing.T) {
	dev, err := device.OpenCUDA()
	if errors.Is(err, device.ErrUnavailable) {
		t.Skipf("no NVIDIA GPU here, so the kernels and the backend are not tested on CUDA (scripts/gpu-check.sh runs this on a GPU): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	for _, c := range deviceChecks {
		t.Run(c.name, func(t *testing.T) { c.run(t, dev) })
	}
}

package trainer_test

import (
	"testing"

	"github.com/deepercluster/deepercluster/trainer"
	"github.com/deepercluster/deepercluster/trainer/backendtest"
)

// backends lists every Backend implementation the contract tests run on;
// a new backend adds itself and inherits them. The GPU backend over
// OpenCL runs the same contract in TestOpenCLBackendContract
// (backend_opencl_test.go), a test of its own so that
// `go test ./... -run OpenCL` selects it with every other OpenCL test.
var backends = []struct {
	name string
	make trainer.NewBackendFunc
}{
	{"cpu", trainer.NewCPUBackend},
}

// TestBackendContract trains each backend through the interface only,
// exports its state, loads it into a fresh backend and checks that both
// then extract the same features and take the same next step: what a
// checkpoint and a resume rely on (backendtest.Contract).
func TestBackendContract(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) { backendtest.Contract(t, be.make) })
	}
}

// TestBackendLoadStateRejects: LoadState refuses a state of another shape
// or with a tensor missing, naming the tensor.
func TestBackendLoadStateRejects(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) { backendtest.LoadStateRejects(t, be.make) })
	}
}

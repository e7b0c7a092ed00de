package gpu

import (
	"testing"

	"github.com/deepercluster/deepercluster/gpu/device"
	"github.com/deepercluster/deepercluster/trainer"
	"github.com/deepercluster/deepercluster/trainer/backendtest"
)

// onDevice is the NewBackendFunc of the GPU backend on dev.
func onDevice(dev device.Device) trainer.NewBackendFunc {
	return func(cfg trainer.BackendConfig) (trainer.Backend, error) { return NewBackend(dev, cfg) }
}

func TestOpenCLBackendContract(t *testing.T) {
	dev := openTestDevice(t)
	defer dev.Close()
	for _, tc := range []struct {
		name  string
		check func(*testing.T, trainer.NewBackendFunc)
	}{
		{"contract", backendtest.Contract},
		{"load-rejects", backendtest.LoadStateRejects},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, onDevice(dev)) })
	}
}

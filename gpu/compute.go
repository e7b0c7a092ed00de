package gpu

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/cluster"
	"github.com/deepercluster/deepercluster/gpu/device"
	"github.com/deepercluster/deepercluster/internal/par"
	"github.com/deepercluster/deepercluster/trainer"
)

// Devices returns the values of the --device flag, in the order help
// lists them (a function, so no caller can change the list for others).
func Devices() []string { return []string{"auto", "cpu", "cuda", "opencl"} }

// Compute is what a --device value resolved to: the backend constructor
// and the k-means engine for trainer.Config (both nil for the CPU, the
// trainer's defaults) and the device's description for RunInfo. Every
// command (train, serve, eval, the pipeline's recluster) resolves the
// flag through OpenCompute, so they choose and log alike. One device is
// opened and shared by every backend and k-means made from it, used from
// one goroutine at a time as the trainer does; Close closes it after the
// last of them is closed.
type Compute struct {
	// Info describes the device (kind, name, memory).
	Info deepercluster.DeviceInfo
	// NewBackend makes the GPU backend on the device; nil on the CPU.
	NewBackend trainer.NewBackendFunc
	// KMeans runs k-means's steps on the device; nil on the CPU.
	KMeans cluster.Engine
	dev    device.Device
}

// OpenCompute resolves a --device value: "cpu"; "cuda" or "opencl",
// which fail (wrapping device.ErrUnavailable, one line naming the library
// and the paths searched, or the missing device) where there is none; or
// "auto", CUDA when a driver and a GPU are found, else the CPU. It logs
// which device it took and, for auto on the CPU, why.
func OpenCompute(kind string, log *slog.Logger) (*Compute, error) {
	if log == nil {
		log = slog.Default()
	}
	cpu := &Compute{Info: deepercluster.DeviceInfo{Kind: "cpu", Name: fmt.Sprintf("%s CPU, %d threads", runtime.GOARCH, par.Threads())}}
	if kind == "cpu" {
		log.Info("compute device", "device", "cpu", "reason", "--device cpu")
		return cpu, nil
	}
	dev, err := device.Open(kind)
	if err != nil {
		if kind == "auto" && errors.Is(err, device.ErrUnavailable) {
			log.Info("compute device", "device", "cpu", "reason", err.Error())
			return cpu, nil
		}
		return nil, fmt.Errorf("--device %s: %w", kind, err)
	}
	c := &Compute{dev: dev, Info: deepercluster.DeviceInfo{Kind: dev.Kind(), Name: dev.Name(), MemoryBytes: dev.MemoryBytes()}}
	c.NewBackend = func(cfg trainer.BackendConfig) (trainer.Backend, error) {
		be, err := NewBackendWith(dev, cfg, Options{})
		if err != nil {
			return nil, err
		}
		return be, nil
	}
	c.KMeans = func(x []float32, n, d int) (cluster.Lloyd, error) {
		km, err := NewKMeans(dev, x, n, d)
		if err != nil {
			return nil, err
		}
		return km, nil
	}
	reason := "--device " + kind
	if kind == "auto" {
		reason = "auto: a CUDA driver and device were found"
	}
	log.Info("compute device", "device", c.Info.Kind, "name", c.Info.Name, "memory_bytes", c.Info.MemoryBytes, "reason", reason)
	return c, nil
}

// Close closes the device, if any; the backends and k-means made from
// it must be closed first.
func (c *Compute) Close() error {
	if c == nil || c.dev == nil {
		return nil
	}
	err := c.dev.Close()
	c.dev = nil
	return err
}

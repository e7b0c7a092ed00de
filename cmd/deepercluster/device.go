package main

import (
	"flag"
	"strings"

	"github.com/deepercluster/deepercluster/gpu"
	"github.com/deepercluster/deepercluster/trainer"
)

// addDeviceFlag adds --device, which train, serve and eval share.
func addDeviceFlag(fs *flag.FlagSet) *string {
	return fs.String("device", "auto", "compute device: "+strings.Join(gpu.Devices(), ", ")+
		" (auto: CUDA when a driver and a GPU are found, else the CPU; cuda or opencl fail where there is none)")
}

// withCompute sets the parts of a trainer configuration that the device
// decides: the backend, the k-means engine and the device's description.
func withCompute(cfg trainer.Config, c *gpu.Compute) trainer.Config {
	cfg.NewBackend, cfg.KMeans, cfg.Device = c.NewBackend, c.KMeans, c.Info
	return cfg
}

//go:build !amd64

package cluster

func pickKernels() *microKernels { return genericKernels }

func cpuKernels() []*microKernels { return []*microKernels{genericKernels} }

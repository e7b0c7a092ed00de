//go:build !amd64

package cluster

func pickKernels() *microKernels { return genericKernels }

func cpuKernels() []*microKernels { return []*microKernels{genericKernels} }

func sumRows(sum []float64, x []float32, d int, rows []int32) { sumRowsGeneric(sum, x, d, rows) }

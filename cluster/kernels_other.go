//go:build !amd64

package cluster

import "os"

// pickKernels chooses the portable kernels: there is no assembly here.
func pickKernels() (*microKernels, KernelShape) {
	return chooseShape(cpuFacts{}, map[string]*microKernels{"generic": genericKernels}, os.Getenv(KernelEnv))
}

func cpuKernels() []*microKernels { return []*microKernels{genericKernels} }

func sumRows(sum []float64, x []float32, d int, rows []int32) { sumRowsGeneric(sum, x, d, rows) }

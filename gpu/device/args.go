package device

import (
	"fmt"

	"github.com/deepercluster/deepercluster/gpu/kernels"
)

// argKinds classifies launch arguments as the kernels' parameter kinds.
// Only Buffer, int32 and float32 are accepted: an int or float64 would
// have the wrong size on the device, so it is an error, not a conversion.
func argKinds(name string, args []any) ([]kernels.Param, error) {
	kinds := make([]kernels.Param, len(args))
	for i, a := range args {
		switch a.(type) {
		case Buffer:
			kinds[i] = kernels.ParamPointer
		case int32:
			kinds[i] = kernels.ParamInt32
		case float32:
			kinds[i] = kernels.ParamFloat32
		default:
			return nil, fmt.Errorf("launch %s: argument %d is %T, want a Buffer, int32 or float32", name, i, a)
		}
	}
	return kinds, nil
}

// checkSignature compares a launch's argument kinds with the kernel's
// parameters (from its PTX, the same source on both devices), so that a
// wrong argument list fails alike on OpenCL and CUDA, with the position.
func checkSignature(name string, want, got []kernels.Param) error {
	if len(want) != len(got) {
		return fmt.Errorf("launch %s: %d arguments, the kernel takes %d (%s)", name, len(got), len(want), paramList(want))
	}
	for i := range want {
		if want[i] != got[i] {
			return fmt.Errorf("launch %s: argument %d is a %s, the kernel wants a %s (%s)", name, i, paramName(got[i]), paramName(want[i]), paramList(want))
		}
	}
	return nil
}

func paramName(p kernels.Param) string {
	switch p {
	case kernels.ParamPointer:
		return "Buffer"
	case kernels.ParamInt32:
		return "int32"
	case kernels.ParamFloat32:
		return "float32"
	}
	return "?"
}

func paramList(ps []kernels.Param) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += ", "
		}
		s += paramName(p)
	}
	return s
}

// launchDims checks grid and block and returns them with zero Y and Z
// components read as 1. empty reports a grid with X = 0: nothing to run.
func launchDims(name string, grid, block Dim) (g, b Dim, empty bool, err error) {
	g, b = grid, block
	for i := range 3 {
		if g[i] < 0 || b[i] < 0 {
			return g, b, false, fmt.Errorf("launch %s: negative dimension in grid %v block %v", name, grid, block)
		}
		if i > 0 && g[i] == 0 {
			g[i] = 1
		}
		if b[i] == 0 {
			b[i] = 1
		}
		if int64(g[i])*int64(b[i]) > 1<<31-1 {
			return g, b, false, fmt.Errorf("launch %s: grid %v x block %v overflows 2^31 threads in dimension %d", name, grid, block, i)
		}
	}
	return g, b, g[0] == 0, nil
}

// span checks that elements [off, off+n) of 4 bytes lie in a buffer of
// size bytes and returns the byte offset and length.
func span(op string, bytes, off, n int) (int, int, error) {
	if off < 0 || n < 0 || (off+n)*4 > bytes {
		return 0, 0, fmt.Errorf("%s: elements [%d, %d) outside a buffer of %d bytes (%d elements)", op, off, off+n, bytes, bytes/4)
	}
	return off * 4, n * 4, nil
}

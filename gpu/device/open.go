package device

import (
	"errors"
	"fmt"
)

// Open opens a device by the --device flag's names, so that every command
// resolves them alike: "cuda", "opencl", or "auto", which is CUDA when a
// driver and a GPU are found. Where there is none, the error wraps
// ErrUnavailable and says what is missing: with "auto" the caller falls
// back to the CPU and logs that line; with "cuda" or "opencl" it exits
// with it. "cpu" is not a device of this package: Open reports it as
// unavailable, and the caller keeps the CPU backend.
func Open(kind string) (Device, error) {
	switch kind {
	case "cuda", "auto":
		d, err := OpenCUDA()
		if err != nil && kind == "auto" && errors.Is(err, ErrUnavailable) {
			return nil, fmt.Errorf("auto: no CUDA device, using the CPU: %w", err)
		}
		return d, err
	case "opencl":
		return OpenOpenCL()
	case "cpu":
		return nil, fmt.Errorf("cpu: not a GPU device: %w", ErrUnavailable)
	}
	return nil, fmt.Errorf("unknown device %q (want auto, cpu, cuda or opencl)", kind)
}

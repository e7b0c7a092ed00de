package device

import (
	"errors"
	"strings"
	"testing"
)

// TestOpenOpenCLByName checks the --device names: opencl opens PoCL here,
// auto and cuda name the missing driver (or open the GPU where there is
// one), cpu is no device, and a typo is not "unavailable" (it must not
// fall back silently).
func TestOpenOpenCLByName(t *testing.T) {
	cudaDev, cudaErr := OpenCUDA()
	if cudaErr == nil {
		must(t, cudaDev.Close())
	}
	type openCase struct {
		kind     string
		wantKind string // "" when an error is expected
		wantErr  string
		unavail  bool
	}
	tests := []openCase{
		{kind: "opencl", wantKind: "opencl"},
		{kind: "cpu", wantErr: "cpu: not a GPU device", unavail: true},
		{kind: "gpu", wantErr: `unknown device "gpu"`},
	}
	if cudaErr == nil {
		tests = append(tests, openCase{kind: "auto", wantKind: "cuda"})
	} else {
		tests = append(tests,
			openCase{kind: "auto", wantErr: "auto: no CUDA device, using the CPU: cuda: libcuda.so.1", unavail: true},
			openCase{kind: "cuda", wantErr: "cuda: libcuda.so.1", unavail: true})
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			d, err := Open(tc.kind)
			if tc.wantKind != "" {
				if err != nil {
					t.Fatal(err)
				}
				defer d.Close()
				if d.Kind() != tc.wantKind {
					t.Fatalf("Open(%q).Kind() = %q", tc.kind, d.Kind())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || errors.Is(err, ErrUnavailable) != tc.unavail {
				t.Fatalf("Open(%q) err = %v, want %q (unavailable: %v)", tc.kind, err, tc.wantErr, tc.unavail)
			}
		})
	}
}

package ui

import "testing"

func TestDeviceLabel(t *testing.T) {
	for _, tc := range []struct {
		kind, name string
		mem        int64
		want       string
	}{
		{"cuda", "NVIDIA H100 80GB HBM3", 85_045_231_616, "cuda: NVIDIA H100 80GB HBM3 · 79.2 GiB"},
		{"opencl", "pthread-skylake-avx512-AMD EPYC", 23_128_674_304, "opencl: pthread-skylake-avx512-AMD EPYC · 21.5 GiB"},
		{"cpu", "amd64 CPU, 2 threads", 0, "cpu: amd64 CPU, 2 threads"},
		{"cpu", "", 0, "cpu"},
		{"", "ignored", 5, ""},
	} {
		if got := DeviceLabel(tc.kind, tc.name, tc.mem); got != tc.want {
			t.Errorf("DeviceLabel(%q, %q, %d) = %q, want %q", tc.kind, tc.name, tc.mem, got, tc.want)
		}
	}
}

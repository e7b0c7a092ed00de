package main

import "testing"

// TestOpenCLBenchQuick runs the whole benchmark at its -quick sizes on
// OpenCL (PoCL in CI) and checks that every figure gpu-check.sh reads is
// there and positive.
func TestOpenCLBenchQuick(t *testing.T) {
	res, err := run("opencl", 1, 1, true, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"train_ips", "extract_ips", "train_ips_64", "extract_ips_64", "kmeans_quick_s"} {
		v, ok := res[key].(float64)
		if !ok || !(v > 0) {
			t.Errorf("%s = %v, want a positive figure", key, res[key])
		}
	}
	if _, err := run("nosuch", 1, 1, true, false); err == nil {
		t.Error("an unknown device kind was accepted")
	}
}

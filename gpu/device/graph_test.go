package device

import (
	"strings"
	"testing"
)

// runGraphTest checks that a captured graph replays like the same plain
// launches, reads its buffers at replay time, keeps the scalar arguments
// of capture time, and that the device refuses copies during a capture.
func runGraphTest(t *testing.T, d Device) {
	gd, ok := d.(Graphs)
	if !ok {
		t.Fatalf("%s device does not implement Graphs", d.Kind())
	}
	const n = 333
	x, y, yPlain := alloc(t, d, n), alloc(t, d, n), alloc(t, d, n)
	ones := make([]float32, n)
	for i := range ones {
		ones[i] = 1
	}
	must(t, d.WriteF32(x, 0, ones))
	must(t, d.WriteF32(y, 0, make([]float32, n)))
	must(t, d.WriteF32(yPlain, 0, make([]float32, n)))

	a := float32(2)
	must(t, gd.BeginCapture())
	must(t, d.Launch("selftest_axpy", Dim{blocks(n, 64)}, Dim{64}, int32(n), a, x, int32(0), y, int32(0)))
	must(t, d.Launch("selftest_fill", Dim{1}, Dim{64}, x, int32(0), int32(1), float32(5)))
	a = 100 // the graph keeps the value at capture
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"write", d.WriteF32(x, 0, ones)},
		{"read", d.ReadF32(x, 0, ones)},
		{"finish", d.Finish()},
		{"begin twice", gd.BeginCapture()},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), "capture") {
			t.Errorf("%s during capture: err = %v", tc.name, tc.err)
		}
	}
	g, err := gd.EndCapture()
	must(t, err)
	defer g.Close()
	if _, err := gd.EndCapture(); err == nil {
		t.Error("EndCapture twice: no error")
	}
	must(t, d.Finish()) // the capture ran nothing
	got := make([]float32, n)
	must(t, d.ReadF32(y, 0, got))
	if got[0] != 0 || got[n-1] != 0 {
		t.Fatalf("launches ran during capture: y = %v ...", got[:3])
	}
	// Replay three times against the same launches made plainly.
	must(t, d.WriteF32(x, 0, ones))
	for range 3 {
		must(t, g.Launch())
	}
	must(t, d.WriteF32(x, 0, ones))
	for range 3 {
		must(t, d.Launch("selftest_axpy", Dim{blocks(n, 64)}, Dim{64}, int32(n), float32(2), x, int32(0), yPlain, int32(0)))
		must(t, d.Launch("selftest_fill", Dim{1}, Dim{64}, x, int32(0), int32(1), float32(5)))
	}
	must(t, d.Finish())
	plain := make([]float32, n)
	must(t, d.ReadF32(y, 0, got))
	must(t, d.ReadF32(yPlain, 0, plain))
	// y[0] = 2*1 + 2*5 + 2*5 (x[0] refilled after the first replay), the
	// rest 3*2*1.
	if got[0] != 22 || got[n-1] != 6 {
		t.Errorf("graph replay: y[0] = %g (want 22), y[n-1] = %g (want 6)", got[0], got[n-1])
	}
	for i := range got {
		if got[i] != plain[i] {
			t.Fatalf("graph replay y[%d] = %g, plain launches %g", i, got[i], plain[i])
		}
	}
	must(t, g.Close())
	if err := g.Launch(); err == nil {
		t.Error("launch of a closed graph: no error")
	}
}

func TestOpenCLGraphs(t *testing.T) {
	runGraphTest(t, openOpenCL(t))
}

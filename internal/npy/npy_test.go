package npy

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name       string
		rows, cols int
	}{{"empty", 0, 3}, {"row", 1, 5}, {"block", 17, 9}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := make([]float32, c.rows*c.cols)
			for i := range data {
				data[i] = float32(i)*0.5 - 3
			}
			p := filepath.Join(dir, c.name+".npy")
			if err := WriteFloat32(p, c.rows, c.cols, data); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(p)
			if (len(b)-4*len(data))%64 != 0 {
				t.Fatalf("data does not start at a multiple of 64 (file %d bytes)", len(b))
			}
			r, cl, got, err := ReadFloat32(p)
			if err != nil {
				t.Fatal(err)
			}
			if r != c.rows || cl != c.cols || !slices.Equal(got, data) {
				t.Fatalf("read %dx%d %v", r, cl, got)
			}
		})
	}
}

func TestReadRefuses(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.npy")
	if err := WriteFloat32(good, 2, 2, []float32{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(good)
	cases := []struct {
		name, want string
		data       []byte
	}{
		{"not npy", "not a .npy", []byte("hello world, not numpy")},
		{"truncated", "values", b[:len(b)-1]},
		{"trailing", "bytes after", append(append([]byte(nil), b...), 0)},
		{"float64", "want a 2-D float32", []byte(strings.Replace(string(b), "<f4", "<f8", 1))},
		{"fortran", "Fortran", []byte(strings.Replace(string(b), "False,", "True, ", 1))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name+".npy")
			os.WriteFile(p, c.data, 0o644)
			_, _, _, err := ReadFloat32(p)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("got %v, want an error naming %s and saying %q", err, p, c.want)
			}
		})
	}
}

// TestNumPyReadsOurs checks the format against NumPy itself where it is
// installed (the quality benchmark's peer needs it).
func TestNumPyReadsOurs(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import numpy").Run() != nil {
		t.Skip("python3 with numpy not installed")
	}
	dir := t.TempDir()
	ours := filepath.Join(dir, "ours.npy")
	if err := WriteFloat32(ours, 2, 3, []float32{1, 2, 3, 4, 5, 6.5}); err != nil {
		t.Fatal(err)
	}
	theirs := filepath.Join(dir, "theirs.npy")
	script := "import numpy as np, sys; a = np.load(sys.argv[1]); assert a.shape == (2, 3) and a.dtype == np.float32 and a[1, 2] == 6.5, a; np.save(sys.argv[2], (a * 2).astype(np.float32))"
	if out, err := exec.Command(py, "-c", script, ours, theirs).CombinedOutput(); err != nil {
		t.Fatalf("numpy: %v: %s", err, out)
	}
	r, c, got, err := ReadFloat32(theirs)
	if err != nil {
		t.Fatal(err)
	}
	if r != 2 || c != 3 || !slices.Equal(got, []float32{2, 4, 6, 8, 10, 13}) {
		t.Fatalf("read %dx%d %v from numpy", r, c, got)
	}
}

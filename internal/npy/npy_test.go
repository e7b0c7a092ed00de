package npy

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster/internal/citest"
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
			if err := Write(p, c.rows, c.cols, data); err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(p)
			if (len(b)-4*len(data))%64 != 0 {
				t.Fatalf("data does not start at a multiple of 64 (file %d bytes)", len(b))
			}
			r, cl, got, err := Read[float32](p)
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
	if err := Write(good, 2, 2, []float32{1, 2, 3, 4}); err != nil {
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
		{"int32 read as float32", "want a 2-D float32", []byte(strings.Replace(string(b), "<f4", "<i4", 1))},
		{"big-endian", "big-endian", []byte(strings.Replace(string(b), "<f4", ">f4", 1))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name+".npy")
			os.WriteFile(p, c.data, 0o644)
			_, _, _, err := Read[float32](p)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("got %v, want an error naming %s and saying %q", err, p, c.want)
			}
		})
	}
}

// TestNumPyReadsOurs checks the format against NumPy itself where it is
// installed (the quality benchmark's peer needs it).
func TestNumPyReadsOurs(t *testing.T) {
	py := numpyPython()
	if py == "" {
		citest.Missing(t, "no python3 with numpy (on PATH or /usr/bin/python3): install Debian python3-numpy (make deps)")
	}
	dir := t.TempDir()
	ours := filepath.Join(dir, "ours.npy")
	if err := Write(ours, 2, 3, []float32{1, 2, 3, 4, 5, 6.5}); err != nil {
		t.Fatal(err)
	}
	oursI := filepath.Join(dir, "ours-int32.npy")
	if err := Write(oursI, 3, 1, []int32{-7, 0, 1 << 30}); err != nil {
		t.Fatal(err)
	}
	theirs := filepath.Join(dir, "theirs.npy")
	theirsI := filepath.Join(dir, "theirs-int32.npy")
	script := "import numpy as np, sys; a = np.load(sys.argv[1]); assert a.shape == (2, 3) and a.dtype == np.float32 and a[1, 2] == 6.5, a; np.save(sys.argv[2], (a * 2).astype(np.float32)); " +
		"b = np.load(sys.argv[3]); assert b.shape == (3, 1) and b.dtype == np.int32 and b[0, 0] == -7 and b[2, 0] == 1 << 30, b; np.save(sys.argv[4], (b + 1).astype(np.int32))"
	if out, err := exec.Command(py, "-c", script, ours, theirs, oursI, theirsI).CombinedOutput(); err != nil {
		t.Fatalf("numpy: %v: %s", err, out)
	}
	ri, ci, gotI, err := Read[int32](theirsI)
	if err != nil {
		t.Fatal(err)
	}
	if ri != 3 || ci != 1 || !slices.Equal(gotI, []int32{-6, 1, 1<<30 + 1}) {
		t.Fatalf("read %dx%d %v from numpy", ri, ci, gotI)
	}
	r, c, got, err := Read[float32](theirs)
	if err != nil {
		t.Fatal(err)
	}
	if r != 2 || c != 3 || !slices.Equal(got, []float32{2, 4, 6, 8, 10, 13}) {
		t.Fatalf("read %dx%d %v from numpy", r, c, got)
	}
}

// TestInt32RoundTrip checks the labels' form: int32 values, negative ones
// included, come back as written, and a float32 file is not taken for one.
func TestInt32RoundTrip(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		rows int
		data []int32
	}{
		{"empty", 0, nil},
		{"labels", 4, []int32{0, -1, 7, 1<<31 - 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name+".npy")
			if err := Write(p, tc.rows, 1, tc.data); err != nil {
				t.Fatal(err)
			}
			r, c, got, err := Read[int32](p)
			if err != nil || r != tc.rows || c != 1 || !slices.Equal(got, tc.data) {
				t.Fatalf("read %dx%d %v, %v; want %dx1 %v", r, c, got, err, tc.rows, tc.data)
			}
			if _, _, _, err := Read[float32](p); err == nil || !strings.Contains(err.Error(), "float32") {
				t.Fatalf("int32 file read as float32: %v", err)
			}
		})
	}
}

// TestRowReader reads single rows, as the pipeline's PCA sample does, and
// refuses rows out of range and a file cut short.
func TestRowReader(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.npy")
	data := make([]float32, 5*3)
	for i := range data {
		data[i] = float32(i) + 0.5
	}
	if err := Write(p, 5, 3, data); err != nil {
		t.Fatal(err)
	}
	r, err := OpenRows[float32](p)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if rows, cols := r.Shape(); rows != 5 || cols != 3 {
		t.Fatalf("shape %d x %d", rows, cols)
	}
	tests := []struct {
		row     int
		dst     []float32
		wantErr bool
	}{
		{0, make([]float32, 3), false},
		{4, make([]float32, 3), false},
		{2, make([]float32, 3), false},
		{5, make([]float32, 3), true},
		{-1, make([]float32, 3), true},
		{1, make([]float32, 2), true},
	}
	for _, tc := range tests {
		err := r.ReadRow(tc.row, tc.dst)
		if (err != nil) != tc.wantErr {
			t.Fatalf("row %d into %d: %v, want error %v", tc.row, len(tc.dst), err, tc.wantErr)
		}
		if err == nil && !slices.Equal(tc.dst, data[tc.row*3:tc.row*3+3]) {
			t.Fatalf("row %d = %v, want %v", tc.row, tc.dst, data[tc.row*3:tc.row*3+3])
		}
	}
	b, _ := os.ReadFile(p)
	short := filepath.Join(dir, "short.npy")
	os.WriteFile(short, b[:len(b)-4], 0o644)
	if _, err := OpenRows[float32](short); err == nil || !strings.Contains(err.Error(), short) {
		t.Fatalf("a file cut short opened: %v", err)
	}
}

// numpyPython is a python3 that imports numpy: the one on PATH, else the
// system's (a pyenv shim on PATH may lack the distribution's
// python3-numpy); "" when neither does.
func numpyPython() string {
	var candidates []string
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	for _, p := range append(candidates, "/usr/bin/python3") {
		if exec.Command(p, "-c", "import numpy").Run() == nil {
			return p
		}
	}
	return ""
}

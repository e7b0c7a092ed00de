package kernels

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/deepercluster/deepercluster/internal/citest"
)

// TestPTXUpToDate regenerates the PTX of every source with clang-19 and
// fails if the committed gpu/kernels/ptx differs: a kernel edited without
// `make ptx` would otherwise run stale code on CUDA only.
func TestPTXUpToDate(t *testing.T) {
	clang, err := exec.LookPath("clang-19")
	if err != nil {
		citest.Missing(t, "clang-19 not found, cannot regenerate the PTX to compare (install Debian clang-19: make deps): %v", err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := GeneratePTX(ctx, clang, ".", out); err != nil {
		t.Fatal(err)
	}
	got, _ := filepath.Glob(filepath.Join(out, "*.ptx"))
	want, _ := filepath.Glob(filepath.Join("ptx", "*.ptx"))
	base := func(p []string) []string {
		var b []string
		for _, f := range p {
			b = append(b, filepath.Base(f))
		}
		return b
	}
	if !slices.Equal(base(got), base(want)) {
		t.Fatalf("ptx files: generated %v, committed %v: run `make ptx` and commit gpu/kernels/ptx", base(got), base(want))
	}
	for _, f := range got {
		g, _ := os.ReadFile(f)
		w, _ := os.ReadFile(filepath.Join("ptx", filepath.Base(f)))
		if string(g) != string(w) {
			t.Errorf("ptx/%s differs from what clang-19 generates from its source: run `make ptx` and commit gpu/kernels/ptx", filepath.Base(f))
		}
	}
}

// TestPTXEntriesMatchSources checks that every kernel the sources declare
// is a PTX entry of the same name (extern "C" at work) with a parameter
// list of pointers, ints and floats, and that there are no others.
func TestPTXEntriesMatchSources(t *testing.T) {
	lib, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	if len(lib.Sources()) == 0 {
		t.Fatal("no kernel sources embedded")
	}
	for _, s := range lib.Sources() {
		p, err := lib.PTX(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := Entries(p)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for n := range entries {
			names = append(names, n)
		}
		slices.Sort(names)
		want := slices.Sorted(slices.Values(s.Kernels))
		if !slices.Equal(names, want) {
			t.Errorf("%s: ptx entries %v, source kernels %v", s.Name, names, want)
		}
	}
	e, _ := Entries(mustPTX(t, lib, "selftest"))
	if got := string(e["selftest_axpy"]); got != "ifpipi" {
		t.Errorf("selftest_axpy params %q, want ifpipi (int n, float a, x, xoff, y, yoff)", got)
	}
}

func mustPTX(t *testing.T, l *Library, name string) string {
	t.Helper()
	p, err := l.PTX(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	const compat = "/* compat */\n"
	const inc = "#include \"compat.h\"\n"
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string
		check   func(t *testing.T, l *Library)
	}{
		{
			name: "kernels and defines",
			files: map[string]string{
				"a.cl": inc + "// dc:define TILE=16 FAST\nKERNEL k1(GLOBAL float *x) {}\n  KERNEL  k2 (int n) {}\n/* KERNEL not_one( */\n",
			},
			check: func(t *testing.T, l *Library) {
				s, ok := l.Lookup("k2")
				if !ok || s.Name != "a" {
					t.Fatalf("Lookup(k2) = %+v, %v", s, ok)
				}
				if !slices.Equal(s.Kernels, []string{"k1", "k2"}) || !slices.Equal(s.Defines, []string{"TILE=16", "FAST"}) {
					t.Errorf("kernels %v defines %v", s.Kernels, s.Defines)
				}
				if got := OpenCLOptions(s); got != "-cl-std=CL1.2 -DTILE=16 -DFAST" {
					t.Errorf("options %q", got)
				}
				src := l.OpenCLSource(s)
				if strings.Contains(src, inc) || !strings.HasPrefix(src, "#line 1 \"compat.h\"\n"+compat) || !strings.Contains(src, "#line 2 \"a.cl\"\n// dc:define") {
					t.Errorf("OpenCL source not spliced as expected:\n%s", src)
				}
				if _, err := l.PTX("a"); err == nil {
					t.Error("PTX of a source without ptx/a.ptx: no error")
				}
			},
		},
		{
			name: "shared headers, each spliced once",
			files: map[string]string{
				"util.h": "#include \"compat.h\"\nDEVICE float twice(float x) { return 2 * x; }\nKERNEL from_header(int n) {}",
				"a.cl":   "#include \"util.h\"\n#include \"compat.h\"\n#include \"util.h\"\nKERNEL ka(int n) {}\n",
			},
			check: func(t *testing.T, l *Library) {
				a, _ := l.Lookup("ka")
				if !slices.Equal(a.Kernels, []string{"from_header", "ka"}) {
					t.Errorf("a.cl kernels %v", a.Kernels)
				}
				want := "#line 1 \"util.h\"\n#line 1 \"compat.h\"\n" + compat + "#line 2 \"util.h\"\nDEVICE float twice(float x) { return 2 * x; }\nKERNEL from_header(int n) {}\n" +
					"#line 2 \"a.cl\"\n#line 3 \"a.cl\"\n#line 4 \"a.cl\"\nKERNEL ka(int n) {}\n"
				if got := l.OpenCLSource(a); got != want {
					t.Errorf("a.cl expanded:\n%s\nwant:\n%s", got, want)
				}
			},
		},
		{
			name: "kernel in a header included by two sources",
			files: map[string]string{
				"util.h": "KERNEL from_header(int n) {}\n",
				"a.cl":   inc + "#include \"util.h\"\n",
				"b.cl":   inc + "#include \"util.h\"\n",
			},
			wantErr: "kernel from_header is defined in both a.cl and b.cl",
		},
		{
			name:    "unknown include",
			files:   map[string]string{"a.cl": inc + "#include \"stdio.h\"\n"},
			wantErr: `a.cl:2: #include "stdio.h" is not a header of gpu/kernels`,
		},
		{
			name:    "duplicate kernel",
			files:   map[string]string{"a.cl": inc + "KERNEL k(int n) {}\n", "b.cl": inc + "KERNEL k(int n) {}\n"},
			wantErr: "kernel k is defined in both a.cl and b.cl",
		},
		{
			name:    "bad define",
			files:   map[string]string{"a.cl": inc + "// dc:define TILE=\"16\"\n"},
			wantErr: "is not NAME or NAME=VALUE",
		},
		{
			name:    "no include",
			files:   map[string]string{"a.cl": "KERNEL k(int n) {}\n"},
			wantErr: "does not #include",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"compat.h": {Data: []byte(compat)}}
			for n, d := range tc.files {
				fsys[n] = &fstest.MapFile{Data: []byte(d)}
			}
			l, err := Load(fsys)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, l)
		})
	}
}

func TestEntries(t *testing.T) {
	ptx := ".visible .entry k(\n\t.param .u64 k_param_0,\n\t.param .u32 k_param_1,\n\t.param .f32 k_param_2\n)\n{\n}\n.visible .entry empty()\n{\n}\n"
	e, err := Entries(ptx)
	if err != nil {
		t.Fatal(err)
	}
	if string(e["k"]) != "pif" || len(e["empty"]) != 0 || len(e) != 2 {
		t.Errorf("entries %v", e)
	}
	if _, err := Entries(".entry k(\n.param .align 8 .b8 k_param_0[16]\n)"); err == nil {
		t.Error("a by-value struct parameter was accepted")
	}
}

// TestCUDAExpFormula emulates compat.h's CUDA EXPF in float32 with an
// exact 2^x in place of ex2.approx, to show the argument split is right:
// what remains is ex2.approx's own error (~2 ulp per the PTX ISA, checked
// on a GPU by the device self-test). Without the split the error grows
// with |x| (CUDA's __expf: 2 + 1.17|x| ulp), past 1e-6 from |x| ~ 7.
func TestCUDAExpFormula(t *testing.T) {
	const l2e = float32(1.44269502162933349609375)
	const tail = float32(1.925963033500011e-08)
	const ln2 = float32(0.693147180559945309)
	ex2 := func(h float32) float32 { return float32(math.Exp2(float64(h))) }
	fmaf := func(a, b, c float32) float32 { return float32(math.FMA(float64(a), float64(b), float64(c))) }
	comp := func(x float32) float32 {
		hi := x * l2e
		lo := fmaf(x, l2e, -hi) + float32(x*tail)
		r := ex2(hi)
		if math.Abs(float64(hi)) >= 128 {
			return r
		}
		return fmaf(r, float32(lo*ln2), r)
	}
	plain := func(x float32) float32 { return ex2(x * l2e) }
	var worstComp, worstPlain float64
	for x := float32(-87); x <= 88; x += 0.0137 {
		want := math.Exp(float64(x))
		worstComp = max(worstComp, math.Abs(float64(comp(x))-want)/want)
		worstPlain = max(worstPlain, math.Abs(float64(plain(x))-want)/want)
	}
	if worstComp > 1.2e-7 {
		t.Errorf("compensated exp: worst relative error %.3g, want <= 1.2e-7 (one float32 rounding)", worstComp)
	}
	if worstPlain < 1e-6 {
		t.Errorf("plain ex2(x*log2e): worst relative error %.3g; expected > 1e-6 (else the split is pointless)", worstPlain)
	}
	for _, x := range []float32{float32(math.Inf(1)), float32(math.Inf(-1)), 100, -100} {
		got, want := comp(x), float32(math.Exp(float64(x)))
		if got != want {
			t.Errorf("exp(%g) = %g, want %g", x, got, want)
		}
	}
	t.Logf("exp relative error over [-87, 88]: compensated %.3g, plain %.3g", worstComp, worstPlain)
}

package benchstat

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestPctl(t *testing.T) {
	cases := []struct {
		s    []float64
		p    float64
		want float64
	}{
		{nil, 0.5, 0},
		{[]float64{3, 1, 2}, 0, 1},
		{[]float64{3, 1, 2}, 0.5, 2},
		{[]float64{3, 1, 2}, 1, 3},
		{[]float64{5, 4, 3, 2, 1, 10, 9, 8, 7, 6}, 0.95, 10},
	}
	for _, c := range cases {
		s := append([]float64(nil), c.s...)
		if got := Pctl(c.s, c.p); got != c.want {
			t.Errorf("Pctl(%v, %v) = %v, want %v", c.s, c.p, got, c.want)
		}
		for i := range s {
			if s[i] != c.s[i] {
				t.Fatalf("Pctl reordered its input: %v", c.s)
			}
		}
	}
	if Round1(16.75) != 16.8 || Round1(33.349) != 33.3 {
		t.Errorf("Round1: %v %v", Round1(16.75), Round1(33.349))
	}
}

// TestReadCPU reads cpuinfo files as the kernel writes them: the widest
// vector, and Zen 4's half-width AVX-512 said.
func TestReadCPU(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       CPU
	}{
		{"intel avx512", "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 106\nmodel name\t: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz\nflags\t\t: fpu sse2 avx avx2 avx512f avx512bw\n\nprocessor\t: 1\nmodel name\t: other\n",
			CPU{Model: "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", Vector: "avx512", VectorBits: 512}},
		{"zen 4", "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC 9R14 96-Core Processor\nflags\t\t: sse2 avx avx2 avx512f\n",
			CPU{Model: "AMD EPYC 9R14 96-Core Processor", Vector: "avx512", VectorBits: 512, VectorNote: "AMD Zen 4 (family 25, model 17): AVX-512 executes as two 256-bit halves"}},
		{"zen 5", "vendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\nmodel name\t: AMD EPYC\nflags\t\t: sse2 avx2 avx512f\n",
			CPU{Model: "AMD EPYC", Vector: "avx512", VectorBits: 512}},
		{"avx2 only", "vendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel name\t: AMD EPYC 7763\nflags\t\t: sse2 avx avx2\n",
			CPU{Model: "AMD EPYC 7763", Vector: "avx2", VectorBits: 256}},
		{"arm64", "processor\t: 0\nFeatures\t: fp asimd evtstrm\nCPU implementer\t: 0x41\n",
			CPU{Model: runtime.GOARCH, Vector: "neon", VectorBits: 128}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "cpuinfo")
			if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := ReadCPU(p); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
	if got := ReadCPU(filepath.Join(t.TempDir(), "none")); got.Model != runtime.GOARCH || got.Vector != "none" {
		t.Errorf("no cpuinfo: %+v", got)
	}
}

// TestMachine: the JSON keys every bench carries, with this process's
// GOMAXPROCS as SetThreads left it, and peer_threads only with a peer.
func TestMachine(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	if got := SetThreads(1); got != 1 {
		t.Fatalf("SetThreads(1) = %d", got)
	}
	for _, c := range []struct {
		peer int
		keys []string
	}{{0, []string{"cpu", "gomaxprocs", "nproc"}}, {2, []string{"cpu", "gomaxprocs", "nproc", "peer_threads"}}} {
		b, err := json.Marshal(struct {
			X int `json:"x"`
			MachineInfo
		}{1, Machine(c.peer)})
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		if len(m) != len(c.keys)+1 || m["gomaxprocs"] != 1.0 || m["nproc"] != float64(runtime.NumCPU()) {
			t.Fatalf("peer %d: %s", c.peer, b)
		}
		for _, k := range c.keys {
			if _, ok := m[k]; !ok {
				t.Fatalf("peer %d: no %q in %s", c.peer, k, b)
			}
		}
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		s    []float64
		want float64
	}{
		{nil, 0},
		{[]float64{7}, 7},
		{[]float64{3, 1}, 2},
		{[]float64{3, 1, 2}, 2},
		{[]float64{10, 1, 4, 2}, 3},
	} {
		in := append([]float64(nil), c.s...)
		if got := Median(c.s); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.s, got, c.want)
		}
		for i := range in {
			if in[i] != c.s[i] {
				t.Fatalf("Median reordered its input: %v", c.s)
			}
		}
	}
}

// TestReadCPUTimes reads /proc/stat files as kernels write them, and says
// which file and what is wrong with one that is not.
func TestReadCPUTimes(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       CPUTimes
		err        string
	}{
		{"linux 6", "cpu  2557944 85328 517232 636185 8483 0 11736 7 0 0\ncpu0 1276709 41735 252978 330445 2606 0 4188 0 0 0\nintr 1 2\n",
			CPUTimes{Busy: 2557944 + 85328 + 517232 + 11736 + 7, Total: 2557944 + 85328 + 517232 + 11736 + 7 + 636185 + 8483}, ""},
		{"old kernel without steal", "cpu 10 20 30 40 5 1 2\n", CPUTimes{Busy: 63, Total: 108}, ""},
		{"cpu line not first", "ctxt 5\ncpu 1 0 1 8\n", CPUTimes{Busy: 2, Total: 10}, ""},
		{"no aggregate line", "cpu0 1 2 3 4\n", CPUTimes{}, "no cpu line"},
		{"short line", "cpu 1 2 3\n", CPUTimes{}, "3 fields"},
		{"not a number", "cpu 1 x 3 4\n", CPUTimes{}, "field 2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "stat")
			if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := ReadCPUTimes(p)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), p) {
					t.Fatalf("got %+v, %v; want an error naming %s and %q", got, err, p, c.err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
	if _, err := ReadCPUTimes(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("a missing file gave no error")
	}
	if _, err := ReadCPUTimes("/proc/stat"); err != nil && runtime.GOOS == "linux" {
		t.Errorf("this machine's /proc/stat: %v", err)
	}
}

func TestOthersCPUShare(t *testing.T) {
	before := CPUTimes{Busy: 1000, Total: 5000}
	for _, c := range []struct {
		name  string
		after CPUTimes
		own   float64
		want  float64
	}{
		// 2 cores for 10 s: 2000 ticks, of which the measured process used 15 s.
		{"measured alone", CPUTimes{Busy: 2500, Total: 7000}, 15, 0},
		{"others 10%", CPUTimes{Busy: 2700, Total: 7000}, 15, 0.10},
		{"others take the idle core", CPUTimes{Busy: 3000, Total: 7000}, 10, 0.5},
		{"own read a tick after the machine's", CPUTimes{Busy: 2500, Total: 7000}, 15.02, 0},
		{"no time passed", before, 0, 0},
	} {
		if got := OthersCPUShare(before, c.after, c.own); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: OthersCPUShare = %v, want %v", c.name, got, c.want)
		}
	}
}

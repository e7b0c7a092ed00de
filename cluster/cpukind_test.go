package cluster

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// kindRows are CPUs the table must recognise, with what it must choose.
// The cache sizes are the parts' (per core): Sapphire Rapids 48 KiB L1d and
// 2 MiB L2, Skylake-SP 32 KiB and 1 MiB, Zen 4 32 KiB and 1 MiB, Zen 5
// 48 KiB and 1 MiB.
var kindRows = []struct {
	name     string
	facts    cpuFacts
	kind     string
	kernel   string
	narrow   bool
	kc, mc   int
	defaults bool
}{
	{"Sapphire Rapids", cpuFacts{vendor: "GenuineIntel", family: 6, model: 143, fma: true, avx2: true, avx512: true, l1d: 48 << 10, l2: 2 << 20, cacheFromCPUID: true},
		kindIntelAVX512, "avx512", true, 256, 120, false},
	{"Skylake-SP", cpuFacts{vendor: "GenuineIntel", family: 6, model: 85, fma: true, avx2: true, avx512: true, l1d: 32 << 10, l2: 1 << 20, cacheFromCPUID: true},
		kindIntelAVX512, "avx512", true, 160, 120, false},
	{"EPYC Zen 4 (Genoa)", cpuFacts{vendor: "AuthenticAMD", family: 25, model: 17, fma: true, avx2: true, avx512: true, l1d: 32 << 10, l2: 1 << 20, cacheFromCPUID: true},
		kindAMDZen4, "avx512", true, 160, 120, false},
	{"EPYC Zen 5 (Turin)", cpuFacts{vendor: "AuthenticAMD", family: 26, model: 2, fma: true, avx2: true, avx512: true, l1d: 48 << 10, l2: 1 << 20, cacheFromCPUID: true},
		kindAMDZen5, "avx512", true, 256, 120, false},
	{"EPYC Zen 3 (Milan), no AVX-512", cpuFacts{vendor: "AuthenticAMD", family: 25, model: 1, fma: true, avx2: true, l1d: 32 << 10, l2: 512 << 10, cacheFromCPUID: true},
		kindGenericAVX2, "avx2", false, 256, 120, false},
	{"Intel Alder Lake, no AVX-512", cpuFacts{vendor: "GenuineIntel", family: 6, model: 151, fma: true, avx2: true, l1d: 48 << 10, l2: 1280 << 10, cacheFromCPUID: true},
		kindGenericAVX2, "avx2", false, 256, 120, false},
	{"AVX-512 under another vendor, caches hidden", cpuFacts{vendor: "VIA VIA VIA ", family: 7, fma: true, avx2: true, avx512: true},
		kindOtherAVX512, "avx512", true, 160, 120, true},
	{"no FMA", cpuFacts{vendor: "GenuineIntel", family: 6, model: 58, l1d: 32 << 10, cacheFromCPUID: true},
		kindGenericScalar, "generic", false, 256, 120, false},
}

// allSets are the kernel sets by name, as on amd64; the table's choice is
// checked whether or not this CPU can run it.
var allSets = map[string]*microKernels{"avx512": {name: "avx512", mr: 32, nr: 12, narrow: &microKernels{name: "avx512n16", mr: 16, nr: 16}},
	"avx2": {name: "avx2", mr: 16, nr: 6}, "generic": genericKernels}

func TestCPUKindTable(t *testing.T) {
	for _, r := range kindRows {
		t.Run(r.name, func(t *testing.T) {
			kr, sh := chooseShape(r.facts, allSets, "")
			if sh.Kind != r.kind || sh.Kernel != r.kernel || kr.name != r.kernel || (kr.narrow != nil) != r.narrow || (sh.Narrow != "") != r.narrow {
				t.Fatalf("got %s (narrow kernel %v), want kind %s kernel %s narrow %v", sh, kr.narrow != nil, r.kind, r.kernel, r.narrow)
			}
			if sh.KC != r.kc || kr.block.kc != r.kc || sh.MC != r.mc || sh.CacheDefaulted != r.defaults {
				t.Fatalf("got %s (defaulted %v), want kc=%d mc=%d defaulted %v", sh, sh.CacheDefaulted, r.kc, r.mc, r.defaults)
			}
			if r.narrow && kr.narrow.block.kc != kr.block.kc {
				t.Fatalf("narrow kc %d, wide %d: the narrow kernel must add in the same blocks", kr.narrow.block.kc, kr.block.kc)
			}
			if sh.Why == "" {
				t.Fatal("no reason given")
			}
		})
	}
}

// TestKernelOverride: KernelEnv's value replaces the table's kernel where
// the CPU runs it (the blocking still from the caches) and is ignored, and
// said to be, where it does not or names nothing.
func TestKernelOverride(t *testing.T) {
	zen4 := kindRows[2].facts
	noAVX512 := map[string]*microKernels{"avx2": allSets["avx2"], "generic": genericKernels}
	for _, c := range []struct {
		name, override string
		sets           map[string]*microKernels
		kernel         string
		narrow         bool
		kc             int
		note           string
	}{
		{"none", "", allSets, "avx512", true, 160, ""},
		{"avx2 on a Zen 4", "avx2", allSets, "avx2", false, 256, "avx2"},
		{"generic", "generic", allSets, "generic", false, 256, "generic"},
		{"avx512 the CPU cannot run", "avx512", noAVX512, "generic", false, 256, "avx512 (ignored: this CPU cannot run it)"},
		{"no such kernel", "sse9", allSets, "avx512", true, 160, "sse9 (ignored: not avx512, avx2 or generic)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			kr, sh := chooseShape(zen4, c.sets, c.override)
			if kr.name != c.kernel || sh.Kernel != c.kernel || (kr.narrow != nil) != c.narrow || sh.KC != c.kc || sh.Override != c.note || sh.Kind != kindAMDZen4 {
				t.Fatalf("got %s narrow %v override %q, want %s narrow %v kc %d override %q", sh, kr.narrow != nil, sh.Override, c.kernel, c.narrow, c.kc, c.note)
			}
		})
	}
}

func TestFamilyModelAndCacheLeaf(t *testing.T) {
	for _, c := range []struct {
		eax           uint32
		family, model int
	}{
		{0x00a10f11, 25, 0x11}, // Zen 4 Genoa
		{0x00b00f21, 26, 0x02}, // Zen 5 Turin (this repository's CI runner)
		{0x000806f8, 6, 0x8f},  // Sapphire Rapids
		{0x000306a9, 6, 0x3a},  // Ivy Bridge
	} {
		if f, m := familyModel(c.eax); f != c.family || m != c.model {
			t.Errorf("familyModel(%#x) = %d, %d; want %d, %d", c.eax, f, m, c.family, c.model)
		}
	}
	// 48 KiB, 12-way, 64-byte lines, 64 sets, level 1 data
	if typ, lvl, size := cacheLeaf(0x121, (11<<22)|63, 63); typ != 1 || lvl != 1 || size != 48<<10 {
		t.Errorf("cacheLeaf = %d, %d, %d; want 1, 1, %d", typ, lvl, size, 48<<10)
	}
}

// TestEveryShapeMatchesNaive forces each choice the table can make, on the
// kernels this CPU runs, with its own blocking (and the smallest kc, so that
// odd inner sizes span several blocks), and checks the product against the
// naive one on odd sizes, both transposes, threads and a Gemm's buffers.
func TestEveryShapeMatchesNaive(t *testing.T) {
	runnable := map[string]*microKernels{}
	for _, kr := range cpuKernels() {
		runnable[kr.name] = kr
	}
	rng := rand.New(rand.NewPCG(7, 8))
	tried := 0
	for _, r := range kindRows {
		if runnable[r.kernel] == nil {
			t.Logf("%s: %s kernel not runnable on this CPU", r.name, r.kernel)
			continue
		}
		for _, l1d := range []int{r.facts.l1d, 1} { // 1: minKC
			f := r.facts
			f.l1d = l1d
			kr, sh := chooseShape(f, runnable, "")
			tried++
			var g Gemm
			for _, sz := range [][3]int{{37, 13, 151}, {130, 16, 70}, {5, 33, 300}, {97, 64, 193}, {1, 1, 1}} {
				m, n, k := sz[0], sz[1], sz[2]
				for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					lda, ldb := k+1, n+2
					if tr[0] {
						lda = m + 3
					}
					if tr[1] {
						ldb = k
					}
					ar, br := m, k
					if tr[0] {
						ar = k
					}
					if tr[1] {
						br = n
					}
					a, b, c0 := randMat(rng, ar*lda), randMat(rng, br*ldb), randMat(rng, m*n)
					want := append([]float32(nil), c0...)
					naiveGemm(tr[0], tr[1], m, n, k, 0.5, a, lda, b, ldb, 1.5, want, n)
					for _, mode := range []string{"threads", "gemm"} {
						got := append([]float32(nil), c0...)
						if mode == "threads" {
							sgemm(kr, 2, tr[0], tr[1], m, n, k, 0.5, a, lda, b, ldb, 1.5, got, n)
						} else {
							sgemmBuf(kr, 1, &g, tr[0], tr[1], m, n, k, 0.5, a, lda, b, ldb, 1.5, got, n)
						}
						for i := range want {
							if !(math.Abs(float64(got[i]-want[i])) <= 1e-4*math.Sqrt(float64(k+1))*(1+math.Abs(float64(want[i])))) {
								t.Fatalf("%s (%s) %s %dx%dx%d trans %v: C[%d] = %v, want %v", r.name, sh, mode, m, n, k, tr, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
	if tried == 0 {
		t.Fatal("no table row ran on this CPU")
	}
}

// trainerProducts are one image's convolution products in the trainer's
// default model (Sobel input: 2 channels; width 16, depth 3, two convs per
// stage) at res px: per layer three forward products (ss x cout x 3cin),
// three weight-gradient products (3cin x cout x ss, A transposed) and, past
// the first layer, three input-gradient products (ss x cin x 3cout); see
// trainer/cpu_ops.go.
func trainerProducts(res int) (out []gemmCase) {
	in, ch := 2, 16
	side := res
	for range 3 {
		for c := range 2 {
			ss := side * side
			for range 3 {
				out = append(out, gemmCase{false, ss, ch, 3 * in}, gemmCase{true, 3 * in, ch, ss})
				if !(side == res && c == 0) {
					out = append(out, gemmCase{false, ss, in, 3 * ch})
				}
			}
			in = ch
		}
		side /= 2
		ch *= 2
	}
	return out
}

type gemmCase struct {
	transA  bool
	m, n, k int
}

// BenchmarkSgemmTrainer times one image's convolution products of the
// trainer (single-threaded, a Gemm's buffers, as each core runs them) for
// every kernel this CPU runs, with and without the narrow 16-lane kernel,
// at several kc, at 32 and 64 px, and BenchmarkSgemm's large product per
// choice: the measurements the CPU-kind table's choice for this kind rests
// on (docs/PERFORMANCE.md).
//
//	go test ./cluster -run '^$' -bench 'SgemmTrainer' -benchtime 200x
func BenchmarkSgemmTrainer(b *testing.B) {
	for _, base := range cpuKernels() {
		if base.name == "generic" {
			continue
		}
		for _, narrow := range []bool{true, false} {
			if narrow && base.narrow == nil {
				continue
			}
			for _, kc := range []int{128, 192, 256, 384} {
				kr := *base
				kr.block = blocking{kc: kc, mc: mcRows, nc: ncMax}
				name := base.name
				if narrow {
					nw := *base.narrow
					nw.block = kr.block
					kr.narrow = &nw
					name += "+n16"
				} else {
					kr.narrow = nil
				}
				for _, res := range []int{32, 64} {
					cases := trainerProducts(res)
					rng := rand.New(rand.NewPCG(1, 2))
					var flops float64
					big := 0
					for _, c := range cases {
						flops += 2 * float64(c.m) * float64(c.n) * float64(c.k)
						big = max(big, c.m*c.k, c.k*c.n, c.m*c.n)
					}
					x, y, z := randMat(rng, big), randMat(rng, big), make([]float32, big)
					var g Gemm
					b.Run(fmt.Sprintf("%s/kc=%d/%dpx", name, kc, res), func(b *testing.B) {
						for range b.N {
							for _, c := range cases {
								lda := c.k
								if c.transA {
									lda = c.m
								}
								sgemmBuf(&kr, 1, &g, c.transA, false, c.m, c.n, c.k, 1, x, lda, y, c.n, 0, z, c.n)
							}
						}
						b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					})
				}
			}
		}
	}
}

// BenchmarkSgemmBlocking times a large square product (as bench-train's
// sgemm_peak_gflops, smaller, on one thread so that other processes'
// load skews it less) for every kernel this CPU runs at several kc.
//
//	go test ./cluster -run '^$' -bench 'SgemmBlocking' -cpu 1
func BenchmarkSgemmBlocking(b *testing.B) {
	const n = 768
	rng := rand.New(rand.NewPCG(3, 4))
	x, y, z := randMat(rng, n*n), randMat(rng, n*n), make([]float32, n*n)
	for _, base := range cpuKernels() {
		if base.name == "generic" {
			continue
		}
		for _, kc := range []int{128, 192, 256, 384} {
			kr := *base
			kr.block = blocking{kc: kc, mc: mcRows, nc: ncMax}
			var g Gemm
			b.Run(fmt.Sprintf("%s/kc=%d", base.name, kc), func(b *testing.B) {
				for range b.N {
					sgemmBuf(&kr, 1, &g, false, false, n, n, n, 1, x, n, y, n, 0, z, n)
				}
				b.ReportMetric(2*n*n*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

package cluster

import "fmt"

// cpuFacts is what the kernel choice looks at: who made the CPU, which
// generation it is, which vector instructions the CPU and the OS allow,
// and its data cache sizes. On amd64 it comes from CPUID (readCPUFacts);
// the tests give it by hand, so that the table is checked for machines
// this one is not.
type cpuFacts struct {
	vendor         string // CPUID's vendor string: "GenuineIntel", "AuthenticAMD", ...
	family, model  int    // display family and model (base plus extended)
	fma, avx2      bool   // FMA3 and AVX2 with the OS saving the YMM state
	avx512         bool   // AVX-512F with the OS saving the ZMM state
	l1d, l2, l3    int    // data cache sizes per core (L3: per CCX/socket share) in bytes, 0 unknown
	cacheFromCPUID bool   // whether l1d/l2/l3 were read (not defaulted)
}

// CPU kinds. The kernels were tuned on an Intel AVX-512 machine; issue 26
// measured an AMD Zen 4 that executes each 512-bit instruction as two
// 256-bit halves and has a smaller L1 (32 KiB against 48), so the choice is
// made per kind, not once for every AVX-512 CPU.
const (
	kindIntelAVX512   = "intel-avx512"
	kindAMDZen4       = "amd-zen4"
	kindAMDZen5       = "amd-zen5"
	kindOtherAVX512   = "generic-avx512"
	kindGenericAVX2   = "generic-avx2"
	kindGenericScalar = "generic"
)

// KernelShape is the matrix-product configuration this process chose for
// its CPU: which micro-kernel, its tile, and the cache blocking. Sgemm's
// speed depends on all of it, and the same binary picks differently on an
// Intel AVX-512 machine and an AMD Zen 4 or Zen 5, so benchmarks record it
// (bench-train's JSON key "kernel") next to the CPU model.
type KernelShape struct {
	// Kind is the CPU kind the table recognised: "intel-avx512",
	// "amd-zen4", "amd-zen5", "generic-avx512", "generic-avx2" or
	// "generic".
	Kind string `json:"kind"`
	// Kernel is the main micro-kernel ("avx512", "avx2" or "generic"),
	// as KernelName.
	Kernel string `json:"kernel"`
	// Tile is its register tile, lanes (columns of C) x rows: "32x12".
	Tile string `json:"tile"`
	// Narrow is the kernel and tile used for products of at most 16
	// columns, "" when the wide kernel does those too.
	Narrow string `json:"narrow,omitempty"`
	// KC, MC and NC are the blocking: the inner dimension per pass (a
	// packed panel of KC x lanes stays in L1), the rows of one work
	// item, and the columns packed per pass.
	KC int `json:"kc"`
	MC int `json:"mc"`
	NC int `json:"nc"`
	// L1DKiB and L2KiB are the data cache sizes the blocking came from
	// (CPUID leaf 4 on Intel, 0x8000001D on AMD); CacheDefaulted says
	// they were not readable and assumed.
	L1DKiB         int  `json:"l1d_kib"`
	L2KiB          int  `json:"l2_kib"`
	CacheDefaulted bool `json:"cache_defaulted,omitempty"`
	// Why says in words why this kernel was chosen for this kind.
	Why string `json:"why"`
	// Override is DEEPERCLUSTER_KERNEL's value where it was set, with
	// " (ignored: ...)" where this CPU cannot run it or it names no kernel.
	Override string `json:"override,omitempty"`
}

// KernelEnv names the environment variable that forces the micro-kernel
// ("avx512", "avx2" or "generic") in place of the CPU-kind table's choice,
// the blocking still from the caches: to measure on one machine what the
// table would give another kind (the 256-bit kernel on a Zen 4, say) without
// rebuilding. A kernel this CPU cannot run is ignored, and KernelInfo's
// Override says so.
const KernelEnv = "DEEPERCLUSTER_KERNEL"

// String is the shape in one line, for logs.
func (s KernelShape) String() string {
	n := ""
	if s.Narrow != "" {
		n = ", narrow " + s.Narrow
	}
	return fmt.Sprintf("%s: %s %s%s, kc=%d mc=%d nc=%d (L1d %d KiB, L2 %d KiB)", s.Kind, s.Kernel, s.Tile, n, s.KC, s.MC, s.NC, s.L1DKiB, s.L2KiB)
}

// Blocking bounds. kc is at least minKC so the kernel's prologue and
// epilogue (loading and storing C) stay small beside the kc FMA steps, and at
// most maxKC, the value tuned on the Intel machine (48 KiB L1d): a larger L1
// keeps it (larger kc measured no better, docs/PERFORMANCE.md), a smaller
// one shrinks it. l1Share is the part of L1d a packed P panel (kc x lanes)
// may fill; the rest holds the broadcast rows of Q and the tile of C (the
// tuned 256 x 32 lanes is two thirds of 48 KiB).
const (
	minKC, maxKC = 64, 256
	l1Share      = 2.0 / 3
	// defaultL1D and defaultL2 are assumed where CPUID gives no sizes.
	defaultL1D, defaultL2 = 32 << 10, 1 << 20
	// mcRows bounds the rows of one work item: about ten row tiles, so
	// that the P panel is reused that often from L1 while the items stay
	// small enough to spread over the cores (a product of 1024 rows gives
	// eight of them). It is a load-balancing size, not a cache size: a
	// block of mc rows x kc is at most 120 KiB, inside every L2 we target.
	mcRows = 120
	// ncMax bounds the columns packed per pass (kc x nc floats, 3 MiB at
	// kc 256): the packed block is shared by all cores and lives in L3.
	ncMax = 3072
)

// kernelChoice is the table's answer: the kind, the main kernel's name, and
// whether the narrow 16-lane kernel takes products of at most 16 columns.
type kernelChoice struct {
	kind, kernel string
	narrow       bool
	why          string
}

// classify is the CPU-kind table: vendor, family and instruction sets to a
// kind and its kernel. Measured kinds say so; the Zen 4 row is reasoned
// (no Zen 4 was at hand): see docs/PERFORMANCE.md, "Kernel shape per CPU".
func classify(f cpuFacts) kernelChoice {
	switch {
	case !f.fma || !f.avx2:
		return kernelChoice{kind: kindGenericScalar, kernel: "generic", why: "no AVX2+FMA: portable Go kernel"}
	case !f.avx512:
		return kernelChoice{kind: kindGenericAVX2, kernel: "avx2", why: "AVX2+FMA without AVX-512: 16x6 tile of 12 YMM accumulators"}
	case f.vendor == "GenuineIntel":
		// Tuned here (kc 256 on a 48 KiB L1d: a 32 KiB panel, two thirds).
		return kernelChoice{kind: kindIntelAVX512, kernel: "avx512", narrow: true,
			why: "Intel AVX-512, two 512-bit FMA ports: 32x12 tile, 16x16 for <=16 columns (the tuning machine)"}
	case f.vendor == "AuthenticAMD" && f.family == 25:
		// Zen 4: each 512-bit FMA runs as two 256-bit halves on two
		// 256-bit pipes, so the peak FLOPs per cycle equal AVX2's and
		// only the instruction count and registers differ. The 512 kernel
		// issues half the instructions, and its 24 ZMM accumulators (48
		// 256-bit halves in flight) exceed the 2 pipes x 4 cycles = 8 it
		// needs; per FMA half it loads 14/48 against the 16x6 AVX2
		// kernel's 8/12. So the 512-bit kernels stay; what differs is
		// the 32 KiB L1d, where kc 256 made a 32 KiB panel that filled
		// it: blockingFor gives 160 (unmeasured: no Zen 4 here).
		return kernelChoice{kind: kindAMDZen4, kernel: "avx512", narrow: true,
			why: "AMD Zen 4, AVX-512 as 2x256: 512-bit kernels for fewer instructions, kc from the 32 KiB L1d (reasoned, unmeasured)"}
	case f.vendor == "AuthenticAMD" && f.family >= 26:
		// Zen 5: full 512-bit datapaths on the server parts (the mobile
		// ones split them as Zen 4 does; not told apart here). Measured on an
		// EPYC family 26 (docs/PERFORMANCE.md).
		return kernelChoice{kind: kindAMDZen5, kernel: "avx512", narrow: true,
			why: "AMD Zen 5, full 512-bit FMA: 32x12 tile, 16x16 for <=16 columns (measured)"}
	default:
		return kernelChoice{kind: kindOtherAVX512, kernel: "avx512", narrow: true,
			why: "AVX-512 on an unlisted CPU: the Intel shape, kc from its L1d"}
	}
}

// blockingFor sizes kc from the L1d: the largest multiple of 16 whose
// kc x lanes panel of float32 fits in l1Share of it, within [minKC, maxKC].
// mc is mcRows in whole tiles; nc is ncMax.
func blockingFor(l1d, lanes, rows int) (kc, mc, nc int) {
	if l1d <= 0 {
		l1d = defaultL1D
	}
	kc = int(float64(l1d)*l1Share) / (4 * lanes) / 16 * 16
	kc = min(max(kc, minKC), maxKC)
	mc = max(rows, mcRows/rows*rows)
	return kc, mc, ncMax
}

// chooseShape turns CPU facts into the kernels this process runs: the
// table's kernel set (one of sets, by name; override, KernelEnv's value,
// names another where not empty) with the blocking from the caches, and the
// KernelShape that describes it. sets holds only the kernels this CPU runs.
func chooseShape(f cpuFacts, sets map[string]*microKernels, override string) (*microKernels, KernelShape) {
	ch := classify(f)
	note := override
	if override != "" {
		switch _, ok := sets[override]; {
		case ok:
			ch.kernel, ch.narrow = override, override == "avx512"
			ch.why = KernelEnv + "=" + override + " in place of: " + ch.why
		case override == "avx512" || override == "avx2":
			note += " (ignored: this CPU cannot run it)"
		default:
			note += " (ignored: not avx512, avx2 or generic)"
		}
	}
	base, ok := sets[ch.kernel]
	if !ok { // the table named a kernel this build lacks (not amd64)
		base = genericKernels
		ch.kernel, ch.narrow = "generic", false
	}
	kr := *base
	kc, mc, nc := blockingFor(f.l1d, kr.mr, kr.nr)
	kr.block = blocking{kc: kc, mc: mc, nc: nc}
	sh := KernelShape{Kind: ch.kind, Kernel: kr.name, Tile: fmt.Sprintf("%dx%d", kr.mr, kr.nr),
		KC: kc, MC: mc, NC: nc, L1DKiB: f.l1d >> 10, L2KiB: f.l2 >> 10, CacheDefaulted: !f.cacheFromCPUID, Why: ch.why, Override: note}
	if f.l1d <= 0 {
		sh.L1DKiB, sh.L2KiB = defaultL1D>>10, defaultL2>>10
	}
	if ch.narrow && base.narrow != nil {
		nw := *base.narrow
		// The narrow kernel adds in the same kc blocks as the wide one,
		// so that choosing it never changes a result's bits
		// (TestNarrowKernelSameBits): it takes the wide kernel's kc.
		nw.block = blocking{kc: kc, mc: max(nw.nr, mcRows/nw.nr*nw.nr), nc: nc}
		kr.narrow = &nw
		sh.Narrow = fmt.Sprintf("%s %dx%d", nw.name, nw.mr, nw.nr)
	} else {
		kr.narrow = nil
	}
	return &kr, sh
}

// familyModel decodes CPUID leaf 1's EAX into the display family and model
// (the extended fields count for family 15 and, for the model, family 6).
func familyModel(eax uint32) (family, model int) {
	family = int(eax>>8) & 0xf
	model = int(eax>>4) & 0xf
	if family == 0xf {
		family += int(eax>>20) & 0xff
	}
	if family == 0x6 || family >= 0xf {
		model += int(eax>>16) & 0xf << 4
	}
	return family, model
}

// cacheLeaf decodes one subleaf of CPUID leaf 4 (Intel) or 0x8000001D (AMD):
// the cache type (0 none, 1 data, 2 instruction, 3 unified), its level and
// its size in bytes (ways x partitions x line size x sets).
func cacheLeaf(eax, ebx, ecx uint32) (typ, level, size int) {
	typ = int(eax & 0x1f)
	level = int(eax>>5) & 0x7
	ways := int(ebx>>22) + 1
	parts := int(ebx>>12)&0x3ff + 1
	line := int(ebx&0xfff) + 1
	sets := int(ecx) + 1
	return typ, level, ways * parts * line * sets
}

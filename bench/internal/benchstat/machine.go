package benchstat

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// CPU names the processor a benchmark ran on and the widest vector
// instructions it offers, because the same code is 1.4x or 2x off the
// same peer on two machines (issue 26: an AMD EPYC against the Intel
// machine the kernels were tuned on), and a figure without its machine
// cannot be compared.
type CPU struct {
	// Model is /proc/cpuinfo's "model name" (runtime.GOARCH where there
	// is none).
	Model string `json:"model"`
	// Vector is the widest vector extension: "avx512", "avx2", "avx",
	// "sse2", "neon", "sve" or "none".
	Vector string `json:"vector"`
	// VectorBits is its register width in bits.
	VectorBits int `json:"vector_bits"`
	// VectorNote says when the width executes narrower than it reads:
	// AMD Zen 4 (family 25 with AVX-512) runs each 512-bit instruction
	// as two 256-bit halves.
	VectorNote string `json:"vector_note,omitempty"`
}

// MachineInfo is what every benchmark's JSON carries about the machine
// and the threads of each side, flattened into the JSON object (embed it
// in the result struct): cpu, gomaxprocs (ours), nproc (the machine's
// CPUs) and peer_threads (the peer's, omitted where there is no peer), so
// that "ours had 16 cores and the peer 2" shows in the figures.
type MachineInfo struct {
	CPU        CPU `json:"cpu"`
	GOMAXPROCS int `json:"gomaxprocs"`
	Nproc      int `json:"nproc"`
	// PeerThreads is the thread count the peer was given (0: no peer).
	PeerThreads int `json:"peer_threads,omitempty"`
}

// Machine describes this machine and this process's GOMAXPROCS, with
// peerThreads as the peer's thread count (0 where there is no peer).
func Machine(peerThreads int) MachineInfo {
	return MachineInfo{CPU: ReadCPU("/proc/cpuinfo"), GOMAXPROCS: runtime.GOMAXPROCS(0), Nproc: runtime.NumCPU(), PeerThreads: peerThreads}
}

// SetThreads sets GOMAXPROCS to threads (when > 0), so that ours runs on
// the same number of threads as the peer whatever the machine's size,
// and returns the GOMAXPROCS in effect.
func SetThreads(threads int) int {
	if threads > 0 {
		runtime.GOMAXPROCS(threads)
	}
	return runtime.GOMAXPROCS(0)
}

// ReadCPU reads the first processor of a /proc/cpuinfo file at path; a
// missing or unreadable file gives runtime.GOARCH and no vector.
func ReadCPU(path string) CPU {
	c := CPU{Model: runtime.GOARCH, Vector: "none"}
	f, err := os.Open(path)
	if err != nil {
		return c
	}
	defer f.Close()
	kv := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" && len(kv) > 0 {
			break // the first processor only
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if _, seen := kv[k]; !seen {
			kv[k] = strings.TrimSpace(v)
		}
	}
	if m := kv["model name"]; m != "" {
		c.Model = m
	} else if m := kv["Model"]; m != "" { // some arm64 kernels
		c.Model = m
	}
	flags := map[string]bool{}
	for _, fl := range strings.Fields(kv["flags"] + " " + kv["Features"]) {
		flags[fl] = true
	}
	switch {
	case flags["avx512f"]:
		c.Vector, c.VectorBits = "avx512", 512
	case flags["avx2"]:
		c.Vector, c.VectorBits = "avx2", 256
	case flags["avx"]:
		c.Vector, c.VectorBits = "avx", 256
	case flags["sse2"]:
		c.Vector, c.VectorBits = "sse2", 128
	case flags["sve"]:
		c.Vector, c.VectorBits = "sve", 128 // at least; the length is chosen by the implementation
	case flags["asimd"]:
		c.Vector, c.VectorBits = "neon", 128
	}
	family, _ := strconv.Atoi(kv["cpu family"])
	if kv["vendor_id"] == "AuthenticAMD" && family == 25 && c.Vector == "avx512" {
		c.VectorNote = fmt.Sprintf("AMD Zen 4 (family 25, model %s): AVX-512 executes as two 256-bit halves", kv["model"])
	}
	return c
}

// AddTo puts m's keys into a benchmark's JSON object built as a map.
func (m MachineInfo) AddTo(out map[string]any) {
	out["cpu"], out["gomaxprocs"], out["nproc"] = m.CPU, m.GOMAXPROCS, m.Nproc
	if m.PeerThreads > 0 {
		out["peer_threads"] = m.PeerThreads
	}
}

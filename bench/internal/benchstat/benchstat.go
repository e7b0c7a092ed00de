// Package benchstat holds the small figures every benchmark program reports
// the same way: percentiles of samples, rounding for JSON, the load
// average beside them, and the machine they ran on (Machine: cpu,
// gomaxprocs, nproc, peer_threads; scripts add them through bench/machine).
package benchstat

import (
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Pctl is the p-quantile (p in [0,1]) of s by the nearest-rank rule on a
// sorted copy; 0 for no samples.
func Pctl(s []float64, p float64) float64 {
	if len(s) == 0 {
		return 0
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// Round1 rounds to one decimal.
func Round1(f float64) float64 { return math.Round(f*10) / 10 }

// LoadAvg is the machine's one-minute load average (0 when unknown), which
// every benchmark prints beside its figures.
func LoadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

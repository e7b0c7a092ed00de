// Package benchstat holds the small figures every benchmark program reports
// the same way: percentiles and medians of samples, rounding for JSON, the
// load average beside them, the machine's CPU times from /proc/stat (how
// much of it other processes took during a measurement: OthersCPUShare),
// and the machine they ran on (Machine: cpu, gomaxprocs, nproc,
// peer_threads; scripts add them through bench/machine).
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

// Median is the middle of s, the mean of the two middle values for an
// even count (as Python's statistics.median, which the script benches
// use), on a sorted copy; 0 for no samples. Benchmarks that repeat a
// noisy measurement report it, where one outlier moves a mean.
func Median(s []float64) float64 {
	if len(s) == 0 {
		return 0
	}
	s = slices.Clone(s)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
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

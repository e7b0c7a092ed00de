package benchstat

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ClockTicks is USER_HZ, the unit of /proc's CPU times on Linux (100 on
// every architecture the kernel exports to user space), so that jiffies
// from /proc/stat and a process's times from /proc/<pid>/stat convert to
// seconds the same way.
const ClockTicks = 100

// CPUTimes is the machine's CPU time over all cores so far, in clock
// ticks, from /proc/stat: a benchmark reads it before and after a
// measurement to tell how much of the machine other processes used
// meanwhile (OthersCPUShare), which a load average, a minute late and
// counting the measured process itself, cannot say.
type CPUTimes struct {
	// Busy is user + nice + system + irq + softirq + steal (guest time
	// is already inside user).
	Busy uint64
	// Total is Busy plus idle and iowait.
	Total uint64
}

// ReadCPUTimes reads the aggregate "cpu" line of a /proc/stat file at
// path (the same rule as scripts/quiet_run.py).
func ReadCPUTimes(path string) (CPUTimes, error) {
	f, err := os.Open(path)
	if err != nil {
		return CPUTimes{}, fmt.Errorf("machine CPU times: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] != "cpu" {
			continue
		}
		if len(fields) < 5 {
			return CPUTimes{}, fmt.Errorf("machine CPU times: %s: %d fields on the cpu line, want at least 4 times", path, len(fields)-1)
		}
		var v [8]uint64 // user nice system idle iowait irq softirq steal
		for i := range v {
			if i+1 >= len(fields) {
				break // older kernels stop before steal
			}
			if v[i], err = strconv.ParseUint(fields[i+1], 10, 64); err != nil {
				return CPUTimes{}, fmt.Errorf("machine CPU times: %s: field %d of the cpu line: %w", path, i+1, err)
			}
		}
		busy := v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
		return CPUTimes{Busy: busy, Total: busy + v[3] + v[4]}, nil
	}
	if err := sc.Err(); err != nil {
		return CPUTimes{}, fmt.Errorf("machine CPU times: %s: %w", path, err)
	}
	return CPUTimes{}, fmt.Errorf("machine CPU times: %s has no cpu line", path)
}

// OthersCPUShare is the share of the machine's CPU time between before
// and after that went to processes other than the measured one, which
// used ownSeconds of CPU in the same interval: the machine's busy time
// less the measured process's, over all of its time (0 to 1; 0 when
// no time passed, and never below 0, since the two clocks are read a
// moment apart).
func OthersCPUShare(before, after CPUTimes, ownSeconds float64) float64 {
	if after.Total <= before.Total {
		return 0
	}
	busy := float64(after.Busy) - float64(before.Busy) - ownSeconds*ClockTicks
	return max(0, busy/float64(after.Total-before.Total))
}

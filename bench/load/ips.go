package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/deepercluster/deepercluster/bench/internal/benchstat"
	"github.com/deepercluster/deepercluster/bench/internal/child"
)

// IPSConfig is the idle training-speed comparison of `train` and `serve`:
// the same model on the same synthetic images, one process after the
// other, nothing else asked of either.
type IPSConfig struct {
	Bin    string // the deepercluster binary
	Dir    string // parent of the run directories
	Images int    // synthetic images
	Batch  int    // training batch (passed to both)
	// Pairs is how many times the two are measured (at least 1), in
	// alternating order (ipsOrder): the speed of one process moves by
	// 15% from run to run, so one pair decides nothing.
	Pairs int
	// Warm is skipped after the first training step; serve's window also
	// waits for its first 2D map ("layout ready"), the one layout that
	// runs at normal priority. Window is the measured time.
	Warm, Window time.Duration
	// Ready bounds the wait for the first step (and serve's first map).
	Ready     time.Duration
	ModelArgs []string
	Log       *slog.Logger
}

// quietMax is the largest share of the machine's CPU that other
// processes may use during a measurement's window for it to count, as
// scripts/bench-train.sh's QUIET_MAX.
const quietMax = 0.10

// IPSSummary is what the comparison reports, flattened into the bench's
// JSON: the speeds are medians over the quiet pairs only (null where no
// pair was quiet, or the comparison was skipped), and the runs beside
// them show the spread.
type IPSSummary struct {
	TrainIPS      *float64 `json:"train_ips"`
	ServeTrainIPS *float64 `json:"serve_train_ips"`
	// ServeTrainRatio is the median of the quiet pairs' own serve/train
	// ratios, so that a pair measured while the machine was faster
	// compares with itself.
	ServeTrainRatio *float64 `json:"serve_train_ratio"`
	IPSPairs        int      `json:"ips_pairs"`
	// IPSPairsQuiet counts the pairs both of whose measurements ran
	// while other processes used under quietMax of the machine's CPU.
	IPSPairsQuiet int `json:"ips_pairs_quiet"`
	// TrainIPSRuns and ServeTrainIPSRuns are every measured speed, in
	// the order they ran, quiet or not.
	TrainIPSRuns      []float64 `json:"train_ips_runs"`
	ServeTrainIPSRuns []float64 `json:"serve_train_ips_runs"`
	// OthersCPUShareMax is the largest share of the machine's CPU that
	// other processes used during any measurement's window.
	OthersCPUShareMax float64 `json:"others_cpu_share_max"`
}

// ipsMeasurement is one process's idle speed and how much of the
// machine's CPU other processes used while its window ran.
type ipsMeasurement struct {
	IPS, OthersCPUShare float64
}

// quiet says whether the measurement ran on a machine quiet enough.
func (m ipsMeasurement) quiet() bool { return m.OthersCPUShare < quietMax }

// ipsPair is one measurement of each command.
type ipsPair struct{ Train, Serve ipsMeasurement }

// ipsOrder is the order of the two commands in pair i (from 0): train
// first in the first pair, serve first in the second, and so on, so that
// neither always runs on a machine the other has just warmed or heated.
func ipsOrder(i int) [2]string {
	if i%2 == 0 {
		return [2]string{"train", "serve"}
	}
	return [2]string{"serve", "train"}
}

// summarizeIPS reduces the pairs to the reported figures: a pair counts
// when both its measurements were quiet (and train trained, so that its
// ratio exists).
func summarizeIPS(pairs []ipsPair) IPSSummary {
	sum := IPSSummary{IPSPairs: len(pairs), TrainIPSRuns: []float64{}, ServeTrainIPSRuns: []float64{}}
	var train, serve, ratio []float64
	for _, p := range pairs {
		sum.TrainIPSRuns = append(sum.TrainIPSRuns, benchstat.Round1(p.Train.IPS))
		sum.ServeTrainIPSRuns = append(sum.ServeTrainIPSRuns, benchstat.Round1(p.Serve.IPS))
		sum.OthersCPUShareMax = max(sum.OthersCPUShareMax, p.Train.OthersCPUShare, p.Serve.OthersCPUShare)
		if !p.Train.quiet() || !p.Serve.quiet() || p.Train.IPS <= 0 {
			continue
		}
		train, serve = append(train, p.Train.IPS), append(serve, p.Serve.IPS)
		ratio = append(ratio, p.Serve.IPS/p.Train.IPS)
	}
	sum.OthersCPUShareMax = math.Round(sum.OthersCPUShareMax*1e4) / 1e4
	sum.IPSPairsQuiet = len(train)
	if len(train) > 0 {
		t, s := benchstat.Round1(benchstat.Median(train)), benchstat.Round1(benchstat.Median(serve))
		r := math.Round(benchstat.Median(ratio)*1e4) / 1e4
		sum.TrainIPS, sum.ServeTrainIPS, sum.ServeTrainRatio = &t, &s, &r
	}
	return sum
}

// MeasureIPS runs cfg.Pairs pairs of `train` and `serve` (ipsOrder), each
// for cfg.Window after its warm-up, and summarizes them (summarizeIPS).
// Each is credited with the images per second it trained, counted the
// same way for both: training steps recorded in the run's history.log
// between two of its writes at least Window apart (it is written an
// epoch or so at a time), times the batch, over the time between them.
// Reclusterings in the window count as time for both. No quiet pair is
// not an error here: the caller prints the figures and then fails.
func MeasureIPS(ctx context.Context, cfg IPSConfig) (IPSSummary, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 64
	}
	if cfg.Pairs < 1 {
		return IPSSummary{}, fmt.Errorf("idle train/serve speed: %d pairs, want at least 1", cfg.Pairs)
	}
	pairs := make([]ipsPair, cfg.Pairs)
	for i := range pairs {
		for _, command := range ipsOrder(i) {
			m, err := measureIPS(ctx, cfg, command, i+1)
			if err != nil {
				return IPSSummary{}, fmt.Errorf("pair %d: %w", i+1, err)
			}
			if command == "train" {
				pairs[i].Train = m
			} else {
				pairs[i].Serve = m
			}
		}
	}
	return summarizeIPS(pairs), nil
}

// measureIPS runs command once, in a run directory of its own (pair
// numbers them), and measures its speed over the window and the share of
// the machine's CPU that other processes used meanwhile.
func measureIPS(ctx context.Context, cfg IPSConfig, command string, pair int) (ipsMeasurement, error) {
	name := fmt.Sprintf("ips-%s-%d", command, pair)
	dir := filepath.Join(cfg.Dir, name)
	common := []string{"--n", strconv.Itoa(cfg.Images), "--batch", strconv.Itoa(cfg.Batch), "--epochs", "1000000"}
	var args []string
	if command == "train" {
		args = append([]string{"train", "--out", dir}, common...)
	} else {
		args = append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir}, common...)
	}
	args = append(args, cfg.ModelArgs...)
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return ipsMeasurement{}, err
	}
	logPath := filepath.Join(cfg.Dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return ipsMeasurement{}, err
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, cfg.Bin, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, logFile
	proc, err := child.Start(cmd)
	if err != nil {
		return ipsMeasurement{}, fmt.Errorf("%s: %w", command, err)
	}
	defer proc.Stop(30 * time.Second)
	tail := func() string { return child.LogTail(logPath) }
	history := filepath.Join(dir, "history.log")
	start := time.Now()
	var first time.Time
	for {
		select {
		case <-proc.Exited():
			return ipsMeasurement{}, fmt.Errorf("%s exited: %v\n%s", command, proc.Err(), tail())
		case <-ctx.Done():
			return ipsMeasurement{}, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Since(start) > cfg.Ready {
			return ipsMeasurement{}, fmt.Errorf("%s: not warm within %v\n%s", command, cfg.Ready, tail())
		}
		steps, err := lastStep(history)
		if err != nil {
			return ipsMeasurement{}, err
		}
		if steps > 0 && first.IsZero() {
			first = time.Now()
		}
		if first.IsZero() || time.Since(first) < cfg.Warm {
			continue
		}
		if command == "serve" {
			b, _ := os.ReadFile(logPath)
			if !bytes.Contains(b, []byte(`msg="layout ready"`)) {
				continue
			}
		}
		break
	}
	// history.log reaches the disk in bursts (an epoch's steps at a
	// time), so the window runs from one burst to the first burst after
	// Window: whole bursts over the time between them.
	nextBurst := func(after int64) (int64, time.Time, error) {
		for {
			select {
			case <-proc.Exited():
				return 0, time.Time{}, fmt.Errorf("%s exited: %v\n%s", command, proc.Err(), tail())
			case <-ctx.Done():
				return 0, time.Time{}, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			s, err := lastStep(history)
			if err != nil || s != after {
				return s, time.Now(), err
			}
		}
	}
	// The machine's CPU time and the process's own, read at both ends of
	// the window: the difference is what other processes took.
	cpuNow := func() (benchstat.CPUTimes, float64, error) {
		m, err := benchstat.ReadCPUTimes("/proc/stat")
		if err != nil {
			return m, 0, err
		}
		own, err := proc.CPUSeconds()
		if err != nil {
			return m, 0, fmt.Errorf("%s: %w", command, err)
		}
		return m, own, nil
	}
	s, err := lastStep(history)
	if err != nil {
		return ipsMeasurement{}, err
	}
	s0, t0, err := nextBurst(s)
	if err != nil {
		return ipsMeasurement{}, err
	}
	mach0, own0, err := cpuNow()
	if err != nil {
		return ipsMeasurement{}, err
	}
	select {
	case <-proc.Exited():
		return ipsMeasurement{}, fmt.Errorf("%s exited: %v\n%s", command, proc.Err(), tail())
	case <-ctx.Done():
		return ipsMeasurement{}, ctx.Err()
	case <-time.After(cfg.Window):
	}
	s, err = lastStep(history)
	if err != nil {
		return ipsMeasurement{}, err
	}
	s1, t1, err := nextBurst(s)
	if err != nil {
		return ipsMeasurement{}, err
	}
	mach1, own1, err := cpuNow()
	if err != nil {
		return ipsMeasurement{}, err
	}
	el := t1.Sub(t0).Seconds()
	m := ipsMeasurement{
		IPS:            float64((s1-s0)*int64(cfg.Batch)) / el,
		OthersCPUShare: benchstat.OthersCPUShare(mach0, mach1, own1-own0),
	}
	cfg.Log.Info("idle training speed", "pair", pair, "command", command, "steps", s1-s0, "seconds", el,
		"images_per_sec", m.IPS, "others_cpu_share", m.OthersCPUShare, "process_cpus", (own1-own0)/el)
	return m, nil
}

// lastStep is the number of the last training step recorded in a run's
// history.log ("s <n> ..." lines), 0 when there is none yet; a line still
// being written is skipped.
func lastStep(path string) (int64, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	var last int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || fields[0] != "s" {
			continue
		}
		if n, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
			last = n
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("history %s: %w", path, err)
	}
	return last, nil
}

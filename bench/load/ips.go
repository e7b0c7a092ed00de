package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/deepercluster/deepercluster/bench/internal/child"
)

// IPSConfig is the idle training-speed comparison of `train` and `serve`:
// the same model on the same synthetic images, one process after the
// other, nothing else asked of either.
type IPSConfig struct {
	Bin    string // the deepercluster binary
	Dir    string // parent of the two run directories
	Images int    // synthetic images
	Batch  int    // training batch (passed to both)
	// Warm is skipped after the first training step; serve's window also
	// waits for its first 2D map ("layout ready"), the one layout that
	// runs at normal priority. Window is the measured time.
	Warm, Window time.Duration
	// Ready bounds the wait for the first step (and serve's first map).
	Ready     time.Duration
	ModelArgs []string
	Log       *slog.Logger
}

// MeasureIPS runs `train`, then `serve`, each for cfg.Window after its
// warm-up, and gives the images per second each trained, counted the same
// way for both: training steps recorded in the run's history.log between
// two of its writes at least Window apart (it is written an epoch or so
// at a time), times the batch, over the time between them. Reclusterings
// in the window count as time for both.
func MeasureIPS(ctx context.Context, cfg IPSConfig) (train, serve float64, err error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 64
	}
	if train, err = measureIPS(ctx, cfg, "train"); err != nil {
		return 0, 0, err
	}
	if serve, err = measureIPS(ctx, cfg, "serve"); err != nil {
		return 0, 0, err
	}
	return train, serve, nil
}

func measureIPS(ctx context.Context, cfg IPSConfig, command string) (float64, error) {
	dir := filepath.Join(cfg.Dir, "ips-"+command)
	common := []string{"--n", strconv.Itoa(cfg.Images), "--batch", strconv.Itoa(cfg.Batch), "--epochs", "1000000"}
	var args []string
	if command == "train" {
		args = append([]string{"train", "--out", dir}, common...)
	} else {
		args = append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir}, common...)
	}
	args = append(args, cfg.ModelArgs...)
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return 0, err
	}
	logPath := filepath.Join(cfg.Dir, "ips-"+command+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return 0, err
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, cfg.Bin, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, logFile
	proc, err := child.Start(cmd)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", command, err)
	}
	defer proc.Stop(30 * time.Second)
	tail := func() string { return child.LogTail(logPath) }
	history := filepath.Join(dir, "history.log")
	start := time.Now()
	var first time.Time
	for {
		select {
		case <-proc.Exited():
			return 0, fmt.Errorf("%s exited: %v\n%s", command, proc.Err(), tail())
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Since(start) > cfg.Ready {
			return 0, fmt.Errorf("%s: not warm within %v\n%s", command, cfg.Ready, tail())
		}
		steps, err := lastStep(history)
		if err != nil {
			return 0, err
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
	s, err := lastStep(history)
	if err != nil {
		return 0, err
	}
	s0, t0, err := nextBurst(s)
	if err != nil {
		return 0, err
	}
	select {
	case <-proc.Exited():
		return 0, fmt.Errorf("%s exited: %v\n%s", command, proc.Err(), tail())
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(cfg.Window):
	}
	s, err = lastStep(history)
	if err != nil {
		return 0, err
	}
	s1, t1, err := nextBurst(s)
	if err != nil {
		return 0, err
	}
	el := t1.Sub(t0).Seconds()
	ips := float64((s1-s0)*int64(cfg.Batch)) / el
	cfg.Log.Info("idle training speed", "command", command, "steps", s1-s0, "seconds", el, "images_per_sec", ips)
	return ips, nil
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

// Package child runs the process a benchmark measures (a `deepercluster
// serve` or `train`) and stops it afterwards, whichever of the benchmark's
// waits saw it exit first.
package child

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/deepercluster/deepercluster/bench/internal/benchstat"
)

// Process is a started command. Exited is closed once it has exited, so
// every wait of the benchmark can select on it, and so can Stop after one
// of them already has.
type Process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // cmd.Wait's, set before exited is closed
}

// Start starts cmd.
func Start(cmd *exec.Cmd) (*Process, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &Process{cmd: cmd, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err is what waiting for the process returned; it is meaningful only
// once Exited is closed.
func (p *Process) Err() error {
	<-p.exited
	return p.err
}

// Stop asks a process still running to stop (os.Interrupt: it shuts down
// as on Ctrl-C), kills it when it has not after grace, and returns once it
// has exited.
func (p *Process) Stop(grace time.Duration) {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(grace):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// RSSMB is the process's resident memory in MB, from /proc.
func (p *Process) RSSMB() (float64, error) {
	pid := p.cmd.Process.Pid
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("server RSS: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return 0, fmt.Errorf("server RSS %q: %w", line, err)
			}
			return kb / 1024, nil
		}
	}
	return 0, errors.New("server RSS: no VmRSS line")
}

// CPUSeconds is the process's user and system CPU time so far, from /proc.
func (p *Process) CPUSeconds() (float64, error) {
	pid := p.cmd.Process.Pid
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("server CPU: %w", err)
	}
	// Fields after the command name, which is in parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("server CPU: short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("server CPU: %w", err)
	}
	return (ut + st) / benchstat.ClockTicks, nil
}

// LogTail is the last 3,000 bytes of the log file at path (what an error
// about the process quotes; "" where it cannot be read).
func LogTail(path string) string {
	b, _ := os.ReadFile(path)
	return string(b[max(0, len(b)-3000):])
}

// ServeURL reads the first line `deepercluster serve` prints on stdout,
// returns the URL in it without its trailing slash, and discards the
// rest of stdout from then on, so that the process never blocks writing.
func ServeURL(stdout io.Reader) (string, error) {
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("serve printed no URL: %w", err)
	}
	go io.Copy(io.Discard, stdout)
	i := strings.Index(line, "http://")
	if i < 0 {
		return "", fmt.Errorf("serve printed %q, no URL", line)
	}
	return strings.TrimSuffix(strings.TrimSpace(line[i:]), "/"), nil
}

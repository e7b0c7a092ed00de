// Package child runs the process a benchmark measures (a `deepercluster
// serve` or `train`) and stops it afterwards, whichever of the benchmark's
// waits saw it exit first.
package child

import (
	"fmt"
	"os"
	"os/exec"
	"time"
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

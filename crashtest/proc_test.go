//go:build unix

package crashtest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binPath is the deepercluster binary built once for the package.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "crashtest-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashtest:", err)
		os.Exit(1)
	}
	// Readable by every user: a test runs it as an unprivileged one.
	os.Chmod(dir, 0o755)
	binPath = filepath.Join(dir, "deepercluster")
	build := exec.Command("go", "build", "-o", binPath, "../cmd/deepercluster")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "crashtest: go build:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one running deepercluster process whose output (stdout and
// stderr, progress-bar carriage returns taken as line ends) is read line
// by line.
type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines chan string // every output line, in order
	done  chan struct{}
	mu    sync.Mutex
	all   bytes.Buffer
	state *os.ProcessState
}

// startProc starts the binary with args; the process is killed when the
// test ends if it is still running.
func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	return startWrapped(t, nil, args...)
}

// startWrapped starts the binary under a wrapper command (such as
// prlimit), or directly when wrapper is empty.
func startWrapped(t *testing.T, wrapper []string, args ...string) *proc {
	t.Helper()
	return startAs(t, nil, wrapper, args...)
}

// startAs is startWrapped as another user (cred nil: this one).
func startAs(t *testing.T, cred *syscall.Credential, wrapper []string, args ...string) *proc {
	t.Helper()
	argv := append(append(append([]string(nil), wrapper...), binPath), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", args, err)
	}
	p := &proc{t: t, cmd: cmd, lines: make(chan string, 1<<16), done: make(chan struct{})}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sc.Split(scanLinesCR)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.all.WriteString(line)
			p.all.WriteByte('\n')
			p.mu.Unlock()
			select {
			case p.lines <- line:
			default: // nobody reads that far behind: the transcript keeps it
			}
		}
		io.Copy(io.Discard, pr)
	}()
	go func() {
		cmd.Wait()
		pw.Close()
		<-readDone
		p.mu.Lock()
		p.state = cmd.ProcessState
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// scanLinesCR splits on \n and \r, so that each redraw of a progress bar
// is a line of its own.
func scanLinesCR(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// output is everything the process wrote so far.
func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.all.String()
}

// exited says whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitLine waits for a line containing one of subs and returns it; false
// when the process ended or the timeout passed first.
func (p *proc) waitLine(timeout time.Duration, subs ...string) (string, bool) {
	deadline := time.After(timeout)
	match := func(line string) bool {
		return slices.ContainsFunc(subs, func(s string) bool { return strings.Contains(line, s) })
	}
	for {
		select {
		case line := <-p.lines:
			if match(line) {
				return line, true
			}
		case <-p.done:
			// Drain what was written before the end.
			for {
				select {
				case line := <-p.lines:
					if match(line) {
						return line, true
					}
				default:
					return "", false
				}
			}
		case <-deadline:
			return "", false
		}
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits up to timeout for a clean exit.
func (p *proc) stop(timeout time.Duration) error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("no exit within %v of SIGTERM", timeout)
	}
	return p.exitErr()
}

// wait waits up to timeout for the process to end by itself.
func (p *proc) wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.exitErr()
	case <-time.After(timeout):
		return fmt.Errorf("still running after %v", timeout)
	}
}

func (p *proc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == nil || !p.state.Success() {
		return fmt.Errorf("exit: %v", p.state)
	}
	return nil
}

package child

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStartStop(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr string // in Err's text, "" for none
	}{
		{"exits by itself", []string{"true"}, ""},
		{"stops on interrupt", []string{"sleep", "60"}, "interrupt"},
		{"ignores the interrupt: killed after the grace", []string{"sh", "-c", `trap "" INT; echo ready; exec sleep 60`}, "killed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(tc.args[0], tc.args[1:]...)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			p, err := Start(cmd)
			if err != nil {
				t.Fatal(err)
			}
			if tc.args[0] == "sh" {
				// Interrupted only once the shell has set its trap.
				if line, err := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
					t.Fatalf("the shell printed %q (%v), want ready", line, err)
				}
			}
			if tc.wantErr == "" {
				<-p.Exited() // a wait of the benchmark saw it first
			} else {
				// Running: /proc has its memory and CPU time.
				if rss, err := p.RSSMB(); err != nil || rss <= 0 {
					t.Fatalf("RSSMB %v, %v: want a positive size", rss, err)
				}
				if _, err := p.CPUSeconds(); err != nil {
					t.Fatalf("CPUSeconds: %v", err)
				}
			}
			p.Stop(200 * time.Millisecond)
			select {
			case <-p.Exited():
			default:
				t.Fatal("Stop returned before the process exited")
			}
			err = p.Err()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Err %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Err %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
	if _, err := Start(exec.Command("/nonexistent/binary")); err == nil || !strings.Contains(err.Error(), "/nonexistent/binary") {
		t.Fatalf("Start of a missing binary: %v, want an error naming it", err)
	}
}

func TestServeURL(t *testing.T) {
	cases := []struct {
		name, stdout, want, wantErr string
	}{
		{"the banner", "DeeperCluster Explorer: http://127.0.0.1:4242/?token=x\nmore\n", "http://127.0.0.1:4242/?token=x", ""},
		{"trailing slash dropped", "DeeperCluster Explorer: http://127.0.0.1:4242/\n", "http://127.0.0.1:4242", ""},
		{"no URL", "something else\n", "", "no URL"},
		{"nothing printed", "", "", "printed no URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ServeURL(strings.NewReader(tc.stdout))
			if got != tc.want || (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("ServeURL = %q, %v; want %q and an error saying %q", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestLogTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serve.log")
	long := strings.Repeat("a", 5000) + "the end"
	if err := os.WriteFile(path, []byte(long), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := LogTail(path); len(got) != 3000 || !strings.HasSuffix(got, "the end") {
		t.Fatalf("LogTail: %d bytes ending %q, want the last 3000", len(got), got[max(0, len(got)-10):])
	}
	if got := LogTail(filepath.Join(t.TempDir(), "missing")); got != "" {
		t.Fatalf("LogTail of a missing file: %q", got)
	}
}

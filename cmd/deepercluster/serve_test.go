package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// serveOnce runs `serve` on dir until it has published an Assignment, then
// cancels it as SIGINT does, and returns the version it reached.
func serveOnce(t *testing.T, dir string, minVersion uint32) (uint32, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var logs syncBuffer
	a := &app{stdout: pw, stderr: io.Discard, log: slog.New(slog.NewTextHandler(&logs, nil))}
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, a, []string{"--addr", "127.0.0.1:0", "--data-dir", dir, "--images", "300",
			"--m", "2", "--k", "3", "--pca-dim", "8", "--recluster-every", "1", "--epochs", "1000"})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no URL printed: %v (serve: %v)", err, <-done)
	}
	go io.Copy(io.Discard, pr)
	base := strings.TrimSpace(line[strings.Index(line, "http://"):])
	var version uint32
	deadline := time.Now().Add(3 * time.Minute)
	for version < minVersion {
		if time.Now().After(deadline) {
			t.Fatal("no assignment within 3 minutes")
		}
		time.Sleep(100 * time.Millisecond)
		resp, err := http.Get(base + "api/run")
		if err != nil {
			t.Fatal(err)
		}
		var info struct{ Version uint32 }
		json.NewDecoder(resp.Body).Decode(&info)
		resp.Body.Close()
		version = info.Version
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after cancel, want nil (exit 0)", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("serve did not stop within 2 minutes of the signal")
	}
	return version, logs.String()
}

// syncBuffer is a log sink safe for the goroutines of serve.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeStopsCleanlyAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	dir := t.TempDir()
	v1, logs := serveOnce(t, dir, 2)
	if !strings.Contains(logs, "msg=stopped") {
		t.Fatalf("first serve did not log its stop:\n%s", logs)
	}
	v2, logs := serveOnce(t, dir, 1)
	if v2 < v1 || !strings.Contains(logs, "resumed run") {
		t.Fatalf("restarted serve is at version %d (before: %d) and logged:\n%s", v2, v1, logs)
	}
}

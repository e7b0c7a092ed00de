package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestMain lets the test binary be the websocket clients' process too, as
// the loadbench binary is (clients.go).
func TestMain(m *testing.M) {
	if spec := os.Getenv(clientsEnv); spec != "" {
		os.Exit(clientsMain(spec, os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// TestShortLoad is the CI form of `make bench-load`: 5,000 images, 10
// clients, 5 searches a second for 10 s, a reclustering half way and a
// second one while it runs; a tiny model to keep CI fast. It checks what
// must hold whatever the machine's speed; latency is only logged.
func TestShortLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server and trains")
	}
	dir := t.TempDir()
	bin := buildDeepercluster(t, dir)
	res, err := Run(context.Background(), Config{
		Bin: bin, Dir: filepath.Join(dir, "run"), Images: 5000, Clients: 10, Rate: 5, Duration: 10 * time.Second,
		Ready: 3 * time.Minute, Settle: 3 * time.Minute, Log: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		ModelArgs: []string{"--size", "16", "--width", "4", "--depth", "2", "--convs", "1", "--hidden", "16", "--pca-dim", "8", "--batch", "32"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *res)
	if res.Errors != 0 {
		t.Errorf("%d errors: %v", res.Errors, res.ErrorSamples)
	}
	if res.ClientsOnLatest != res.Clients {
		t.Errorf("%d of %d clients on the latest version %d", res.ClientsOnLatest, res.Clients, res.LatestVersion)
	}
	if res.Recluster409s != 1 {
		t.Errorf("the second reclustering request, sent while the first ran, got %d 409s, want 1: %v", res.Recluster409s, res.ErrorSamples)
	}
	if res.LatestVersion <= res.FromVersion {
		t.Errorf("no new version after the reclustering request (still %d)", res.LatestVersion)
	}
	if res.SearchServerP99ms <= 0 || res.SearchServerP99ms > res.SearchP99ms {
		t.Errorf("the server's own p99 %.1f ms against the round trip's %.1f ms: want (0, round trip]", res.SearchServerP99ms, res.SearchP99ms)
	}
	if res.FramesPerClient < 2 {
		t.Errorf("%.1f frames per client: each gets at least a snapshot and the new version", res.FramesPerClient)
	}
	if res.Searches < 25 {
		t.Errorf("only %d searches answered in 10 s at 5/s", res.Searches)
	}
	// Bounded memory: 5,000 images of Assignment, index and thumbnails are
	// a few MB; a leak per search or per frame over this run would show.
	if res.RSSGrowthMB > 200 {
		t.Errorf("server RSS grew by %.1f MB", res.RSSGrowthMB)
	}
}

// TestIdleSpeedCounted is the CI form of the idle train/serve comparison
// of `make bench-load`: two pairs, each process training a tiny model in
// a run directory of its own, credited with the steps its history.log
// gained in the window. Speeds and quietness are only logged (the CI
// machine may be busy): the check is that every run was measured and
// summarized.
func TestIdleSpeedCounted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts train and serve")
	}
	dir := t.TempDir()
	bin := buildDeepercluster(t, dir)
	sum, err := MeasureIPS(context.Background(), IPSConfig{
		Bin: bin, Dir: filepath.Join(dir, "ips"), Images: 2000, Batch: 32, Pairs: 2, Warm: time.Second, Window: 3 * time.Second,
		Ready: 3 * time.Minute, Log: slog.New(slog.NewTextHandler(os.Stderr, nil)),
		ModelArgs: []string{"--size", "16", "--width", "4", "--depth", "2", "--convs", "1", "--hidden", "16", "--pca-dim", "8"},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(sum)
	t.Logf("%s", b)
	if sum.IPSPairs != 2 || len(sum.TrainIPSRuns) != 2 || len(sum.ServeTrainIPSRuns) != 2 {
		t.Fatalf("want 2 pairs and 2 runs of each: %s", b)
	}
	for i := range 2 {
		if sum.TrainIPSRuns[i] <= 0 || sum.ServeTrainIPSRuns[i] <= 0 {
			t.Errorf("pair %d: a process trained no step in the window: %s", i+1, b)
		}
		for _, c := range []string{"train", "serve"} {
			if _, err := os.Stat(filepath.Join(dir, "ips", fmt.Sprintf("ips-%s-%d", c, i+1), "history.log")); err != nil {
				t.Errorf("pair %d's %s did not train in a directory of its own: %v", i+1, c, err)
			}
		}
	}
	if sum.IPSPairsQuiet < 0 || sum.IPSPairsQuiet > 2 || sum.OthersCPUShareMax < 0 || sum.OthersCPUShareMax > 1 ||
		(sum.IPSPairsQuiet > 0) != (sum.TrainIPS != nil && sum.ServeTrainIPS != nil && sum.ServeTrainRatio != nil) {
		t.Errorf("inconsistent summary: %s", b)
	}
}

// buildDeepercluster builds the deepercluster command into dir and returns
// its path: the bench runs the real binary, as `make bench-load` does.
func buildDeepercluster(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "deepercluster")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/deepercluster")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

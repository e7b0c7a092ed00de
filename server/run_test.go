package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/index"
	"github.com/deepercluster/deepercluster/trainer"
	"github.com/deepercluster/deepercluster/wire"
)

// liveRun is a real trainer and a real bleve index behind a server.
type liveRun struct {
	s      *Server
	ts     *httptest.Server
	run    *trainer.Run
	ix     *index.Index
	cancel context.CancelFunc // stops training
	trainE chan error
	stopBG context.CancelFunc
	bgDone chan struct{}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func tinyTrainerConfig(dir string, epochs int) trainer.Config {
	return trainer.Config{
		Dir: dir, DatasetName: "synthetic", Epochs: epochs, Batch: 32, Seed: 11,
		Params:      deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: 2, K: 3, ReclusterEvery: 2, PCADim: 8},
		Model:       trainer.ModelConfig{Resolution: 16, Width: 4, Depth: 2, ConvsPerStage: 1, Hidden: 16},
		KMeansIters: 5,
		Logger:      quiet(),
	}
}

// startLive wires dataset, index, trainer and server as `serve` does.
func startLive(t *testing.T, dir string, n, epochs int, cfg Config) *liveRun {
	t.Helper()
	return startLiveWith(t, n, tinyTrainerConfig(dir, epochs), cfg)
}

// startLiveWith is startLive with the trainer's configuration (its Dir the
// run directory). Training starts once the server's Run does, as in
// `serve`, where Run is under way long before the first clustering ends.
func startLiveWith(t *testing.T, n int, tcfg trainer.Config, cfg Config) *liveRun {
	t.Helper()
	dir := tcfg.Dir
	ds := testDataset(t, n)
	ix, err := index.Open(filepath.Join(dir, "index"), ds, index.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, ds, ix, quiet())
	if err != nil {
		t.Fatal(err)
	}
	run, err := trainer.NewRun(context.Background(), tcfg, ds, s)
	if err != nil {
		t.Fatal(err)
	}
	s.SetRun(run)
	bg, stopBG := context.WithCancel(context.Background())
	l := &liveRun{s: s, run: run, ix: ix, stopBG: stopBG, bgDone: make(chan struct{}), trainE: make(chan error, 1)}
	go func() { s.Run(bg); close(l.bgDone) }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		s.mu.Lock()
		running := s.running
		s.mu.Unlock()
		if running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server's Run did not start")
		}
	}
	l.ts = httptest.NewServer(s.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go func() { l.trainE <- run.Train(ctx) }()
	t.Cleanup(func() { l.shutdown(t) })
	return l
}

// shutdown stops as `serve` does on SIGINT; it may be called twice.
func (l *liveRun) shutdown(t *testing.T) {
	if l.cancel == nil {
		return
	}
	l.cancel()
	l.cancel = nil
	if err := <-l.trainE; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("train: %v", err)
	}
	l.run.Close()
	l.s.CloseClients()
	l.ts.Close()
	l.stopBG()
	<-l.bgDone
	if err := l.ix.Close(); err != nil {
		t.Errorf("close index: %v", err)
	}
}

func (l *liveRun) wsURL() string { return "ws" + strings.TrimPrefix(l.ts.URL, "http") + "/ws" }

// TestLiveRunReclusterAndResume runs the real trainer and index: the
// snapshot equals the trainer's Assignment, concurrent recluster requests
// get one 202 and 409s, the new version reaches every client as a delta,
// search answers from the index, and a stopped run resumes from its
// directory with the same Assignment.
func TestLiveRunReclusterAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	dir := t.TempDir()
	const n = 256
	l := startLive(t, dir, n, 1000, Config{DataDir: dir})

	var clients []*client
	for range 2 {
		c := newClient(t, dial(t, l.wsURL(), nil))
		c.readUntil("first assignment", func() bool { return c.version() >= 1 })
		clients = append(clients, c)
	}
	if a := l.run.Assignment(); a.Version == clients[0].version() {
		sameAssignment(t, clients[0].a, a)
	}
	v := clients[0].version()
	for _, c := range clients {
		c.readUntil("same version on every client", func() bool { return c.version() >= v })
	}
	// The trainer hands the server the features of its clustering:
	// similar images answer, with their clusters.
	sim := waitSimilar(t, l.ts.URL, 0)
	if imgs := sim["images"].([]any); len(imgs) != 5 || sim["features_version"].(float64) < 1 || sim["dim"].(float64) != 8 {
		t.Fatalf("similar images from the trainer's features: %v", sim)
	}

	// Concurrent requests: one job at a time. On a small set a job can
	// finish before the last request arrives, so a second may be accepted,
	// but only after the first produced its version: accepted jobs never
	// start from the same version.
	const reqs = 6
	codes := make([]int, reqs)
	bodies := make([]map[string]any, reqs)
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], bodies[i], _ = do(t, "POST", l.ts.URL+"/api/recluster", `{"k": 4, "m": 3}`, http.Header{"Content-Type": {"application/json"}})
		}()
	}
	wg.Wait()
	fromByID := map[float64]float64{}
	for i, c := range codes {
		switch c {
		case http.StatusAccepted:
			fromByID[bodies[i]["id"].(float64)] = bodies[i]["from_version"].(float64)
		case http.StatusConflict:
		default:
			t.Fatalf("recluster answered %d", c)
		}
	}
	if len(fromByID) == 0 {
		t.Fatalf("none of %d concurrent requests accepted (codes %v)", reqs, codes)
	}
	ids := slices.Sorted(maps.Keys(fromByID))
	for i := 1; i < len(ids); i++ {
		if fromByID[ids[i]] <= fromByID[ids[i-1]] {
			t.Fatalf("jobs %v and %v both accepted from version %v: they overlapped (codes %v)", ids[i-1], ids[i], fromByID[ids[i]], codes)
		}
	}
	// Validation names the field.
	if status, body, _ := do(t, "POST", l.ts.URL+"/api/recluster", `{"pca_dim": 1}`, nil); status != 400 || body["field"] != "pca_dim" {
		t.Fatalf("bad pca_dim: %d %v", status, body)
	}

	// The reclustering with m=3 reaches every client, as a delta.
	for _, c := range clients {
		snaps := c.kind[wire.KindSnapshot]
		c.readUntil("reclustered version", func() bool { return c.a != nil && c.a.M == 3 })
		if c.kind[wire.KindSnapshot] != snaps {
			t.Fatal("the new version came as a snapshot, not a delta")
		}
		if len(c.a.SubParent) != 12 {
			t.Fatalf("%d sub-clusters, want 3*4", len(c.a.SubParent))
		}
		// A delta carries no run info: a run-info frame with the
		// parameters in force follows it (the page's header shows them).
		c.readUntil("run info with m=3 k=4", func() bool { return c.info != nil && c.info.Params.M == 3 && c.info.Params.K == 4 })
	}
	// The job is done and a new request is accepted again.
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, body, _ := do(t, "GET", l.ts.URL+"/api/run", "", nil)
		job, _ := body["job"].(map[string]any)
		if job != nil && job["state"] == "done" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job never done: %v", body)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Search and suggest answer from the real index once it has the version.
	for {
		status, body, _ := do(t, "GET", l.ts.URL+"/api/suggest?prefix=a", "", nil)
		if status == 200 {
			if _, ok := body["tags"].([]any); !ok {
				t.Fatalf("suggest: %v", body)
			}
			break
		}
		if status != 503 || time.Now().After(deadline) {
			t.Fatalf("suggest: %d %v", status, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range clients {
		c.readUntil("summaries", func() bool { return len(c.sums) > 0 })
	}
	// Once summarised, a cluster's panel carries its c-TF-IDF keywords and
	// top tags from the index. The run goes on reclustering meanwhile (a
	// few hundred versions a minute at this size), so the version asked
	// for is the one /api/clusters shows tagged, whichever it is by then.
	a := l.run.Assignment()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, body, _ := do(t, "GET", l.ts.URL+"/api/clusters", "", nil)
		v, _ := body["version"].(float64)
		if body["tagged"] == true && uint32(v) >= a.Version {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("version %d (or a later one) never summarised: %v", a.Version, body)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, clusters, _ := do(t, "GET", l.ts.URL+"/api/clusters", "", nil)
		sup, sub := -1, -1
		supers, _ := clusters["supers"].([]any)
		for _, s := range supers {
			sm := s.(map[string]any)
			subs, _ := sm["subs"].([]any)
			if len(subs) > 0 {
				sup, sub = int(sm["super"].(float64)), int(subs[0].(map[string]any)["sub"].(float64))
				break
			}
		}
		status, body, _ := do(t, "GET", fmt.Sprintf("%s/api/clusters/%d/%d", l.ts.URL, sup, sub), "", nil)
		kws, _ := body["keywords"].([]any)
		tops, _ := body["top_tags"].([]any)
		if status == 200 && clusters["tagged"] == true && len(kws) > 0 && len(tops) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster %d/%d panel without keywords or top tags: %d %v", sup, sub, status, body)
		}
	}

	// Graceful stop, then a new process on the same directory resumes.
	l.shutdown(t)
	before := l.run.Assignment()
	l2 := startLive(t, dir, n, 1000, Config{})
	if a := l2.run.Assignment(); a == nil || a.Version < before.Version {
		t.Fatalf("resumed run has assignment %v, want version >= %d", a, before.Version)
	}
	c := newClient(t, dial(t, l2.wsURL(), nil))
	c.readUntil("resumed assignment", func() bool { return c.version() >= before.Version })
	if c.version() == before.Version {
		sameAssignment(t, c.a, before)
	}
	if c.a.M != 3 {
		t.Fatalf("resumed with m=%d, want the reclustered 3", c.a.M)
	}
	// Similar images answer after the restart too: from the features kept
	// in the run directory, or a newer clustering's.
	if sim := waitSimilar(t, l2.ts.URL, 3); sim["features_version"].(float64) < float64(before.Version) {
		t.Fatalf("after the restart, similar images from features of version %v, the run resumed at %d", sim["features_version"], before.Version)
	}
}

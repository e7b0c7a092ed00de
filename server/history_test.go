package server

import (
	"math"
	"net/http"
	"strings"
	"testing"
)

// TestRestartKeepsHistory: after a restart on the same run directory (a
// real trainer and index), a client that connects gets the whole run's
// history (every step's figures, every version's metrics, label NMI
// included), so its charts do not start empty; and a reclustering asked
// for once training has ended is a 409 that says why, not a job left
// "running" for ever.
func TestRestartKeepsHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	dir := t.TempDir()
	const n, epochs = 128, 4 // 4 steps an epoch, versions 1 and 2 (T=2)
	l := startLive(t, dir, n, epochs, Config{})
	err := <-l.trainE
	l.trainE <- err
	if err != nil {
		t.Fatalf("train: %v", err)
	}
	hdr := http.Header{"Content-Type": {"application/json"}}
	status, body, _ := do(t, "POST", l.ts.URL+"/api/recluster", `{"m": 3}`, hdr)
	if msg, _ := body["error"].(string); status != http.StatusConflict || !strings.Contains(msg, "training has ended") {
		t.Fatalf("recluster after training: %d %v, want 409 saying training has ended", status, body)
	}
	if _, body, _ := do(t, "GET", l.ts.URL+"/api/run", "", nil); body["job"] != nil {
		t.Fatalf("a job after the refused request: %v", body["job"])
	}
	want := l.run.History()
	if len(want.Steps) != epochs*n/32 || len(want.Metrics) != 2 {
		t.Fatalf("run history: %d points, %d metrics; want %d and 2", len(want.Steps), len(want.Metrics), epochs*n/32)
	}
	l.shutdown(t)

	l2 := startLive(t, dir, n, epochs, Config{})
	// At once, before any reclustering of this process: the latest
	// metrics come from history.log (issue 26, item 10).
	_, info, _ := do(t, "GET", l2.ts.URL+"/api/run", "", nil)
	last := want.Metrics[1]
	if m, _ := info["metrics"].(map[string]any); m == nil || m["version"] != float64(last.Version) || m["epoch"] != float64(last.Epoch) ||
		m["label_nmi"] != last.LabelNMI || m["stability_nmi"] != last.StabilityNMI {
		t.Fatalf("GET /api/run right after the restart: metrics %v, want version %d's %+v from the history", info["metrics"], last.Version, last)
	}
	c := newClient(t, dial(t, l2.wsURL(), nil))
	c.readUntil("history", func() bool { return c.hist != nil && c.version() >= 2 })
	h := c.hist
	if len(h.Steps) != len(want.Steps) || len(h.Metrics) != 2 {
		t.Fatalf("after a restart the client got %d step points and %d metrics, want %d and 2", len(h.Steps), len(h.Metrics), len(want.Steps))
	}
	for i, p := range want.Steps {
		if h.Steps[i] != p {
			t.Fatalf("step point %d: %+v, want %+v", i, h.Steps[i], p)
		}
	}
	for i, m := range h.Metrics {
		if m.Version != uint32(i+1) || math.IsNaN(m.LabelNMI) || m.LabelNMI != want.Metrics[i].LabelNMI {
			t.Fatalf("metrics %d after a restart: %+v, want %+v", i, m, want.Metrics[i])
		}
	}
	if math.IsNaN(h.Metrics[1].StabilityNMI) {
		t.Fatal("stability NMI of version 2 lost in the restart")
	}
	// The resumed run has nothing left to train: the same 409.
	err = <-l2.trainE
	l2.trainE <- err
	if status, body, _ := do(t, "POST", l2.ts.URL+"/api/recluster", `{"m": 3}`, hdr); status != http.StatusConflict {
		t.Fatalf("recluster on a finished, resumed run: %d %v", status, body)
	}
}

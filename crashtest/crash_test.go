//go:build unix

package crashtest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset/source"
	"github.com/deepercluster/deepercluster/index"
	"github.com/deepercluster/deepercluster/trainer"
)

// seed makes the kill schedule reproducible: CRASHTEST_SEED=n replays one.
func seed(t *testing.T) uint64 {
	s := uint64(1)
	if v := os.Getenv("CRASHTEST_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CRASHTEST_SEED=%q: %v", v, err)
		}
		s = n
	}
	t.Logf("kill schedule seed %d (CRASHTEST_SEED=%d reproduces it)", s, s)
	return s
}

// runState is what the test knows about a run directory across kills.
type runState struct {
	dir string
	// reported maps each Assignment version the process reported saved
	// ("reclustered version=N", logged after the file and the checkpoint
	// that names it were written) to the SHA-256 of its file then.
	reported map[uint32][32]byte
	ck       *trainer.Checkpoint // the last checkpoint seen, nil before one
	tmpLeft  int                 // temporary files a kill left behind
}

var (
	reclusteredRE  = regexp.MustCompile(`msg=reclustered version=(\d+) `)
	reclusteringRE = regexp.MustCompile(`msg=reclustering version=(\d+) `)
	indexedRE      = regexp.MustCompile(`msg="index (?:built|updated)" .*(?:version|to)=(\d+) `)
)

// maxTries bounds the starts a targeted kill may take to land in its
// phase; a kill that misses is still checked like any other.
const maxTries = 10

// inRecluster says whether a process's output shows a reclustering begun
// and not finished: a kill then landed inside it.
func inRecluster(out string) bool {
	started := reclusteringRE.FindAllStringSubmatch(out, -1)
	if len(started) == 0 {
		return false
	}
	v := started[len(started)-1][1]
	return !strings.Contains(out, "msg=reclustered version="+v+" ")
}

// inIndexUpdate says whether the output shows a version saved whose index
// update (or build) had not finished: a kill then landed inside it.
func inIndexUpdate(out string) bool {
	saved := reclusteredRE.FindAllStringSubmatch(out, -1)
	if len(saved) == 0 {
		return false
	}
	v := saved[len(saved)-1][1]
	for _, m := range indexedRE.FindAllStringSubmatch(out, -1) {
		if m[1] == v {
			return false
		}
	}
	return true
}

// noteReported records the versions a process's output reported saved.
func (s *runState) noteReported(t *testing.T, out string) {
	t.Helper()
	for _, m := range reclusteredRE.FindAllStringSubmatch(out, -1) {
		v64, _ := strconv.ParseUint(m[1], 10, 32)
		v := uint32(v64)
		if _, ok := s.reported[v]; ok {
			continue
		}
		b, err := os.ReadFile(trainer.AssignmentPath(s.dir, v))
		if err != nil {
			t.Fatalf("version %d was reported saved but: %v", v, err)
		}
		s.reported[v] = sha256.Sum256(b)
	}
}

// check verifies the run directory after a kill: the checkpoint loads and
// has not gone back, every Assignment file present loads, and every
// version reported saved is still there, byte for byte.
func (s *runState) check(t *testing.T) *trainer.Checkpoint {
	t.Helper()
	ck, err := trainer.LoadCheckpoint(s.dir)
	var maxReported uint32
	for v := range s.reported {
		maxReported = max(maxReported, v)
	}
	switch {
	case errors.Is(err, trainer.ErrNoCheckpoint):
		if s.ck != nil || len(s.reported) > 0 {
			t.Fatalf("checkpoint gone after a kill (had epoch %v, reported versions %d): %v", s.ck != nil, len(s.reported), err)
		}
	case err != nil:
		t.Fatalf("checkpoint unreadable after a kill: %v", err)
	default:
		if s.ck != nil && (ck.Epoch < s.ck.Epoch || ck.Version < s.ck.Version) {
			t.Fatalf("checkpoint went back: epoch %d version %d, before epoch %d version %d", ck.Epoch, ck.Version, s.ck.Epoch, s.ck.Version)
		}
		if ck.Version < maxReported {
			t.Fatalf("checkpoint at version %d, but version %d was reported saved", ck.Version, maxReported)
		}
		if ck.Version > 0 {
			if _, err := trainer.LoadAssignment(s.dir, ck.Version); err != nil {
				t.Fatalf("checkpoint names version %d: %v", ck.Version, err)
			}
		}
	}
	for v, sum := range s.reported {
		b, err := os.ReadFile(trainer.AssignmentPath(s.dir, v))
		if err != nil {
			t.Fatalf("reported version %d: %v", v, err)
		}
		if sha256.Sum256(b) != sum {
			t.Fatalf("reported version %d was overwritten", v)
		}
		if _, err := trainer.LoadAssignment(s.dir, v); err != nil {
			t.Fatalf("reported version %d does not load: %v", v, err)
		}
	}
	s.tmpLeft = 0
	for _, d := range []string{s.dir, filepath.Join(s.dir, trainer.AssignmentDir)} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp") {
				s.tmpLeft++
				continue
			}
			var v uint32
			if d != s.dir && !e.IsDir() {
				if _, err := fmt.Sscanf(name, "v%06d.bin", &v); err == nil {
					if _, err := trainer.LoadAssignment(s.dir, v); err != nil {
						t.Fatalf("assignment file %s present but does not load: %v", name, err)
					}
				}
			}
		}
	}
	if err == nil {
		s.ck = ck
	}
	return s.ck
}

// checkResumed verifies that a restarted process said it resumed from the
// checkpoint on disk.
func (s *runState) checkResumed(t *testing.T, p *proc) {
	t.Helper()
	if s.ck == nil {
		return
	}
	line, ok := p.waitLine(2*time.Minute, "resumed run")
	if !ok {
		t.Fatalf("restart did not resume from the checkpoint (epoch %d step %d):\n%s", s.ck.Epoch, s.ck.Step, tail(p.output()))
	}
	want := fmt.Sprintf("epoch=%d step=%d version=%d", s.ck.Epoch, s.ck.Step, s.ck.Version)
	if !strings.Contains(line, want) {
		t.Fatalf("resumed at %q, the checkpoint says %s", line, want)
	}
}

// waitTemp waits for a temporary file of an atomic write (checkpoint or
// Assignment) to appear, so that a kill lands inside the write.
func waitTemp(dir string, timeout time.Duration, p *proc) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && !p.exited() {
		for _, d := range []string{dir, filepath.Join(dir, trainer.AssignmentDir)} {
			entries, _ := os.ReadDir(d)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".tmp") {
					return true
				}
			}
		}
		time.Sleep(100 * time.Microsecond)
	}
	return false
}

func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}

// rounds is how many times the five kills are repeated: 1 in CI,
// CRASHTEST_ROUNDS=n for a longer soak.
func rounds(t *testing.T) int {
	if v := os.Getenv("CRASHTEST_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("CRASHTEST_ROUNDS=%q: want a positive integer", v)
		}
		return n
	}
	return 1
}

// schedule is the kill moments of every round, each round's five in a
// seeded order.
func schedule(t *testing.T, rng *rand.Rand, kinds []string) []string {
	var out []string
	for range rounds(t) {
		r := append([]string(nil), kinds...)
		rng.Shuffle(len(r), func(i, j int) { r[i], r[j] = r[j], r[i] })
		out = append(out, r...)
	}
	return out
}

func TestTrainSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network in a subprocess")
	}
	epochs := 100 * rounds(t)
	rng := rand.New(rand.NewPCG(seed(t), 7))
	dir := t.TempDir()
	args := []string{"train", "--out", dir, "--n", "300", "--size", "16", "--width", "4", "--depth", "2", "--convs", "1",
		"--hidden", "16", "--m", "2", "--k", "3", "--pca-dim", "8", "--recluster-every", "1", "--batch", "32",
		"--epochs", strconv.Itoa(epochs)}
	st := &runState{dir: dir, reported: map[uint32][32]byte{}}
	tries := map[string]int{}
	// Each targeted kill is a required case: it is retried until the
	// evidence after the kill shows it landed in its phase (a temporary
	// file left: inside a write; a reclustering logged as begun and not
	// done: inside it; neither, after steps ran: in training), within
	// maxTries starts.
	for i, kind := range schedule(t, rng, []string{"training", "write", "recluster", "write", "random"}) {
		for try := 1; ; try++ {
			tries[kind]++
			p := startProc(t, args...)
			st.checkResumed(t, p)
			aimed := true
			switch kind {
			case "training":
				_, aimed = p.waitLine(2*time.Minute, "phase=training step=")
			case "write":
				aimed = waitTemp(dir, 2*time.Minute, p)
			case "recluster":
				_, aimed = p.waitLine(2*time.Minute, "msg=reclustering ")
				time.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond)
			case "random":
				time.Sleep(time.Duration(100+rng.IntN(900)) * time.Millisecond)
			}
			if p.exited() {
				t.Fatalf("kill %d (%s): the run ended before it (raise epochs):\n%s", i+1, kind, tail(p.output()))
			}
			p.kill()
			out := p.output()
			st.noteReported(t, out)
			ck := st.check(t)
			landed := true
			switch kind {
			case "training":
				landed = aimed && !inRecluster(out) && st.tmpLeft == 0
			case "write":
				landed = aimed && st.tmpLeft > 0
			case "recluster":
				landed = aimed && inRecluster(out)
			}
			if ck != nil {
				t.Logf("kill %d try %d during %s (landed %v): checkpoint epoch %d step %d version %d; %d temp files left", i+1, try, kind, landed, ck.Epoch, ck.Step, ck.Version, st.tmpLeft)
			} else {
				t.Logf("kill %d try %d during %s (landed %v): no checkpoint yet", i+1, try, kind, landed)
			}
			if landed {
				break
			}
			if try == maxTries {
				t.Fatalf("kill %d: none of %d kills aimed at %s landed there", i+1, maxTries, kind)
			}
		}
	}
	t.Logf("starts per phase until each kill landed: %v", tries)

	p := startProc(t, args...)
	st.checkResumed(t, p)
	if err := p.wait(3 * time.Minute); err != nil {
		t.Fatalf("final run: %v\n%s", err, tail(p.output()))
	}
	st.noteReported(t, p.output())
	ck := st.check(t)
	if ck == nil || ck.Epoch != epochs {
		t.Fatalf("final checkpoint %+v, want epoch %d", ck, epochs)
	}
	if !strings.Contains(p.output(), "training done") {
		t.Fatalf("final run did not finish:\n%s", tail(p.output()))
	}
	if st.tmpLeft > 0 {
		t.Errorf("%d temporary files of interrupted writes are still in the run directory after a clean finish", st.tmpLeft)
	}
}

// serveHTTP is a small client of the serve process's API.
type serveHTTP struct{ base string }

func (c serveHTTP) get(path string, v any) error {
	resp, err := http.Get(c.base + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return json.Unmarshal(b, v)
}

// waitURL reads the URL that serve prints when it listens.
func waitURL(t *testing.T, p *proc) serveHTTP {
	t.Helper()
	line, ok := p.waitLine(2*time.Minute, "DeeperCluster Explorer: ")
	if !ok {
		t.Fatalf("serve printed no URL:\n%s", tail(p.output()))
	}
	u := strings.TrimSpace(line[strings.Index(line, "http://"):])
	return serveHTTP{base: strings.TrimSuffix(u, "/")}
}

// checkIndex opens the run's index as serve would and checks it against
// the Assignment version it says it holds: the images of every
// sub-cluster, as bleve finds them, are exactly those of the Assignment.
func checkIndex(t *testing.T, dir string, ds deepercluster.Dataset, ck *trainer.Checkpoint) uint32 {
	t.Helper()
	ix, err := index.Open(filepath.Join(dir, "index"), ds, index.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("index does not open after a kill: %v", err)
	}
	defer ix.Close()
	if err := ix.Recovered(); err != nil {
		t.Logf("index was discarded on open (it is rebuilt from the Assignment): %v", err)
	}
	v := ix.Version()
	if v == 0 {
		return 0
	}
	if ck == nil || v > ck.Version {
		t.Fatalf("index at version %d, ahead of the checkpoint %+v", v, ck)
	}
	a, err := trainer.LoadAssignment(dir, v)
	if err != nil {
		t.Fatalf("index holds version %d: %v", v, err)
	}
	_, sizes := a.Sizes()
	for j, want := range sizes {
		res, err := ix.Search(context.Background(), deepercluster.Query{Text: fmt.Sprintf(`sub:"%d"`, j), Limit: index.MaxLimit})
		if err != nil {
			t.Fatalf("search sub:%d: %v", j, err)
		}
		if res.Version != v || res.Matches != want {
			t.Fatalf("index v%d: sub-cluster %d has %d images (result version %d), the Assignment %d", v, j, res.Matches, res.Version, want)
		}
		if want > 0 && (len(res.Subs) != 1 || res.Subs[0].ID != int32(j) || res.Subs[0].Count != want) {
			t.Fatalf("index v%d: sub:%d ranks %+v", v, j, res.Subs)
		}
	}
	return v
}

type runJSON struct {
	Phase    string `json:"phase"`
	State    string `json:"state"`
	Version  uint32 `json:"version"`
	Progress struct {
		Epoch int `json:"epoch"`
	} `json:"progress"`
}

type searchJSON struct {
	Result struct {
		Version uint32 `json:"version"`
	} `json:"result"`
}

func TestServeSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network in a subprocess")
	}
	const n = 300
	epochs := 100 * rounds(t)
	rng := rand.New(rand.NewPCG(seed(t), 8))
	dir := t.TempDir()
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--n", strconv.Itoa(n), "--size", "16",
		"--width", "4", "--depth", "2", "--convs", "1", "--hidden", "16", "--m", "2", "--k", "3", "--pca-dim", "8",
		"--recluster-every", "1", "--batch", "32", "--epochs", strconv.Itoa(epochs)}
	ds, err := source.Open(source.SpecSynthetic, source.Options{N: n, Resolution: 16})
	if err != nil {
		t.Fatal(err)
	}
	st := &runState{dir: dir, reported: map[uint32][32]byte{}}
	tries := map[string]int{}
	// As in TestTrainSurvivesSIGKILL, each targeted kill is required to
	// land in its phase, shown by the evidence after it; "index": a
	// version logged saved whose index update had not finished.
	for i, kind := range schedule(t, rng, []string{"training", "write", "recluster", "index", "random"}) {
		for try := 1; ; try++ {
			tries[kind]++
			p := startProc(t, args...)
			st.checkResumed(t, p) // logged before the URL is printed
			c := waitURL(t, p)
			aimed := true
			switch kind {
			case "training":
				// serve draws no progress bar: watch the phase on the API.
				aimed = false
				for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline) && !p.exited(); time.Sleep(2 * time.Millisecond) {
					var r runJSON
					if c.get("/api/run", &r) == nil && r.Version > 0 && r.Phase == "training" {
						aimed = true
						break
					}
				}
			case "write":
				aimed = waitTemp(dir, 2*time.Minute, p)
			case "recluster":
				_, aimed = p.waitLine(2*time.Minute, "msg=reclustering ")
				time.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond)
			case "index":
				_, aimed = p.waitLine(2*time.Minute, "msg=reclustered ")
				time.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond)
			case "random":
				time.Sleep(time.Duration(100+rng.IntN(900)) * time.Millisecond)
			}
			if p.exited() {
				t.Fatalf("kill %d (%s): serve ended by itself:\n%s", i+1, kind, tail(p.output()))
			}
			p.kill()
			out := p.output()
			st.noteReported(t, out)
			ck := st.check(t)
			iv := checkIndex(t, dir, ds, ck)
			landed := true
			switch kind {
			case "training":
				landed = aimed && !inRecluster(out) && st.tmpLeft == 0
			case "write":
				landed = aimed && st.tmpLeft > 0
			case "recluster":
				landed = aimed && inRecluster(out)
			case "index":
				landed = aimed && inIndexUpdate(out)
			}
			if ck != nil {
				t.Logf("kill %d try %d during %s (landed %v): checkpoint epoch %d step %d version %d, index version %d; %d temp files left", i+1, try, kind, landed, ck.Epoch, ck.Step, ck.Version, iv, st.tmpLeft)
			} else {
				t.Logf("kill %d try %d during %s (landed %v): no checkpoint yet, index version %d", i+1, try, kind, landed, iv)
			}
			if landed {
				break
			}
			if try == maxTries {
				t.Fatalf("kill %d: none of %d kills aimed at %s landed there", i+1, maxTries, kind)
			}
		}
	}
	t.Logf("starts per phase until each kill landed: %v", tries)

	// The last start trains to the end; serve then keeps serving, so it is
	// stopped with SIGTERM once the index has caught up.
	p := startProc(t, args...)
	st.checkResumed(t, p)
	c := waitURL(t, p)
	if _, ok := p.waitLine(3*time.Minute, "training finished"); !ok {
		t.Fatalf("training did not finish:\n%s", tail(p.output()))
	}
	st.noteReported(t, p.output())
	ck := st.check(t)
	if ck == nil || ck.Epoch != epochs {
		t.Fatalf("final checkpoint %+v, want epoch %d", ck, epochs)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		var r runJSON
		var s searchJSON
		if c.get("/api/run", &r) == nil && c.get("/api/search?text=sub:%220%22", &s) == nil &&
			r.Version == ck.Version && s.Result.Version == ck.Version {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never reached version %d in run info and search (run %+v, search %+v)", ck.Version, r, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.stop(time.Minute); err != nil {
		t.Fatalf("serve after SIGTERM: %v\n%s", err, tail(p.output()))
	}
	st.check(t)
	if v := checkIndex(t, dir, ds, ck); v != ck.Version {
		t.Fatalf("index at version %d after a clean stop, the run at %d", v, ck.Version)
	}
	if st.tmpLeft > 0 {
		t.Errorf("%d temporary files of interrupted writes are still in the run directory after a clean finish", st.tmpLeft)
	}
}

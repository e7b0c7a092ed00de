package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset/synthetic"
	"github.com/deepercluster/deepercluster/index"
	"github.com/deepercluster/deepercluster/internal/citest"
	"github.com/deepercluster/deepercluster/server"
	"github.com/deepercluster/deepercluster/trainer"
)

// stack is the real product: a synthetic dataset, the trainer, the bleve
// index and the server, wired as `deepercluster serve` wires them.
type stack struct {
	url string
	// handler is the server's own handler; the browser, at url, gets the
	// dctest build of the client instead of the server's main.wasm.
	handler http.Handler
	ds      deepercluster.Dataset
	run     *trainer.Run
	srv     *server.Server
	stop    func()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startStack(t *testing.T, n int, params deepercluster.RunParams, clientDir string) *stack {
	t.Helper()
	return startStackIn(t, t.TempDir(), n, 1000, params, clientDir)
}

// startStackIn starts the stack on the run directory dir for the given
// number of epochs: a second stack on the same directory is a restart (the
// trainer resumes its checkpoint, the index and the notes are read back).
func startStackIn(t *testing.T, dir string, n, epochs int, params deepercluster.RunParams, clientDir string) *stack {
	t.Helper()
	ds, err := synthetic.New(synthetic.Config{Seed: 3, N: n, Resolution: 16})
	if err != nil {
		t.Fatal(err)
	}
	return startStackOnIn(t, dir, ds, epochs, params, clientDir)
}

// e2eDevice is the device the stacks' runs report (they train on the
// CPU backend).
var e2eDevice = deepercluster.DeviceInfo{Kind: "cpu", Name: "e2e CPU"}

// startStackOn is startStack on any 16 px dataset.
func startStackOn(t *testing.T, ds deepercluster.Dataset, params deepercluster.RunParams, clientDir string) *stack {
	t.Helper()
	return startStackOnIn(t, t.TempDir(), ds, 1000, params, clientDir)
}

// startStackOnIn is startStackIn on any 16 px dataset.
func startStackOnIn(t *testing.T, dir string, ds deepercluster.Dataset, epochs int, params deepercluster.RunParams, clientDir string) *stack {
	t.Helper()
	return startStackFeatures(t, dir, ds, epochs, params, clientDir, nil)
}

// startStackFeatures is startStackOnIn, on fixed features when feats is
// not nil (`serve --features`: no network, no training).
func startStackFeatures(t *testing.T, dir string, ds deepercluster.Dataset, epochs int, params deepercluster.RunParams, clientDir string, feats *trainer.FixedFeatures) *stack {
	t.Helper()
	ix, err := index.Open(filepath.Join(dir, "index"), ds, index.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", DataDir: dir}, ds, ix, quiet())
	if err != nil {
		t.Fatal(err)
	}
	run, err := trainer.NewRun(context.Background(), trainer.Config{
		Dir: dir, DatasetName: "synthetic", Params: params, Epochs: epochs, Batch: 32, Seed: 5,
		Model:       trainer.ModelConfig{Resolution: 16, Width: 4, Depth: 2, ConvsPerStage: 1, Hidden: 16},
		KMeansIters: 5, Logger: quiet(), Features: feats, Device: e2eDevice,
	}, ds, srv)
	if err != nil {
		t.Fatal(err)
	}
	srv.SetRun(run)
	bg, stopBG := context.WithCancel(context.Background())
	bgDone := make(chan struct{})
	go func() { srv.Run(bg); close(bgDone) }()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	hs := &http.Server{Handler: withClient(h, clientDir)}
	go hs.Serve(ln)
	trainCtx, stopTrain := context.WithCancel(context.Background())
	trainDone := make(chan error, 1)
	go func() { trainDone <- run.TrainAndServe(trainCtx) }() // as serve runs it
	s := &stack{url: "http://" + ln.Addr().String(), handler: h, ds: ds, run: run, srv: srv}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			stopTrain()
			if err := <-trainDone; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("train: %v", err)
			}
			run.Close()
			srv.CloseClients()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			hs.Shutdown(ctx)
			cancel()
			stopBG()
			<-bgDone
			if err := ix.Close(); err != nil {
				t.Errorf("close index: %v", err)
			}
		})
	}
	t.Cleanup(s.stop)
	return s
}

func (s *stack) getJSON(t *testing.T, path string, v any) int {
	t.Helper()
	resp, err := http.Get(s.url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decode: %v", path, err)
	}
	return resp.StatusCode
}

// needBrowser skips, or under CI fails, when Chromium or the client built
// with the dctest tag is missing; it returns that client's directory.
func needBrowser(t *testing.T) string {
	t.Helper()
	if _, err := Chromium(); err != nil {
		citest.Missing(t, "browser test: %v", err)
	}
	dir := filepath.Join("..", TestClientDir)
	if _, err := os.Stat(filepath.Join(dir, "main.wasm")); err != nil {
		citest.Missing(t, "browser test: the client built with the dctest tag: %v (make wasm builds it; make test does)", err)
	}
	return dir
}

// withClient serves main.wasm from dir (the dctest build) and everything
// else from h.
func withClient(h http.Handler, dir string) http.Handler {
	wasm := filepath.Join(dir, "main.wasm")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/main.wasm" {
			w.Header().Set("Content-Type", "application/wasm")
			http.ServeFile(w, r, wasm)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// artifactPath is where a screenshot is kept after the test: $TEST_ARTIFACTS
// when set, else the system's temp directory.
func artifactPath(t *testing.T, name string) string {
	dir := os.Getenv("TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "deepercluster-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts: %v", err)
	}
	return filepath.Join(dir, name)
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	p := artifactPath(t, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	t.Logf("screenshot saved: %s (%d bytes)", p, len(png))
}

// pollState waits until cond holds for the client's state.
func pollState(t *testing.T, ctx context.Context, what string, timeout time.Duration, cond func(ClientState) bool) ClientState {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var st ClientState
	var err error
	for time.Now().Before(deadline) {
		st, err = State(ctx)
		if err == nil && cond(st) {
			return st
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("waiting %v for %s: last state %+v, err %v", timeout, what, st, err)
	return st
}

type searchAnswer struct {
	Result struct {
		Version uint32 `json:"version"`
		Subs    []struct {
			ID    int32   `json:"id"`
			Score float64 `json:"score"`
			Lift  float64 `json:"lift"`
		} `json:"subs"`
		Supers []struct {
			Lift float64 `json:"lift"`
		} `json:"supers"`
	} `json:"result"`
}

// carriers are the sub-clusters of a search answer that carry the tags
// (lift above 1), sorted, and the number of hits (both levels) that do and
// that do not.
func (ans *searchAnswer) carriers() (subs []int32, carry, rest int) {
	for _, h := range ans.Result.Subs {
		if h.Lift > 1 {
			subs = append(subs, h.ID)
			carry++
		} else {
			rest++
		}
	}
	for _, h := range ans.Result.Supers {
		if h.Lift > 1 {
			carry++
		} else {
			rest++
		}
	}
	slices.Sort(subs)
	return subs, carry, rest
}

// TestBrowserExplorer runs the real server with real training on 2,000
// synthetic images and drives the page in headless Chromium: it draws the
// clusters, a hashtag search highlights exactly the clusters holding the
// tag, a result zooms the map, the super-class view nests four rotations,
// and the recluster form produces a new Assignment version on the page.
func TestBrowserExplorer(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network and runs a browser")
	}
	clientDir := needBrowser(t)
	params := deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: 4, K: 6, ReclusterEvery: 1000, PCADim: 8}
	s := startStack(t, 2000, params, clientDir)
	// The server serves the shipped client, gzipped; the page gets the
	// dctest build of the same code, whose hooks the test reads.
	req := httptest.NewRequest(http.MethodGet, s.url+"/main.wasm", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Encoding") != "gzip" {
		citest.Missing(t, "the server's main.wasm: HTTP %d, Content-Encoding %q: run make wasm (make test does) before go test",
			rec.Code, rec.Header().Get("Content-Encoding"))
	}

	bctx := browsePage(t, s.url+"/", 4*time.Minute, 1280, 800)

	// 1. It connects, receives the first Assignment and draws it.
	st := pollState(t, bctx, "the first assignment drawn", 2*time.Minute, func(st ClientState) bool {
		return st.Connected && st.Version >= 1 && st.ClustersDrawn > 0 && !st.Animating
	})
	if st.Images != 2000 || st.Supers != params.M || st.Subclusters != params.M*params.K {
		t.Fatalf("client holds %d images, %d supers, %d subs; want 2000, %d, %d", st.Images, st.Supers, st.Subclusters, params.M, params.M*params.K)
	}
	if st.ClustersDrawn != st.Subclusters {
		t.Fatalf("drew %d of %d sub-clusters at the whole-map view", st.ClustersDrawn, st.Subclusters)
	}
	if st.LastError != "" {
		t.Fatalf("client error: %s", st.LastError)
	}
	// The live charts get the trainer's progress.
	pollState(t, bctx, "loss points on the charts", 30*time.Second, func(st ClientState) bool {
		return st.LossPoints > 0 && st.MetricsPoints >= 1
	})

	// 2. Hashtag search. Pick a plain tag that some sub-clusters carry
	// (more common there than in the dataset: lift above 1) and others
	// hold only by chance, from the dataset and the page's Assignment
	// version, so that the page's split between the two can be checked.
	a := s.run.Assignment()
	if a == nil || a.Version != st.Version {
		t.Fatalf("page at version %d, trainer at %v", st.Version, a)
	}
	_, subSizes := a.Sizes()
	holders := map[string]map[int32]int{} // tag -> sub -> images carrying it
	matches := map[string]int{}
	for i := 0; i < s.ds.Len(); i++ {
		seen := map[string]bool{}
		for _, tg := range s.ds.Meta(i).Tags {
			if tg == "" || strings.ContainsAny(tg, ` ,"|#*`) || strings.ToLower(tg) != tg || seen[tg] {
				continue
			}
			seen[tg] = true
			if holders[tg] == nil {
				holders[tg] = map[int32]int{}
			}
			holders[tg][a.Sub[i]]++
			matches[tg]++
		}
	}
	carriersOf := func(tg string) (carry []int32, rest int) {
		for z, c := range holders[tg] {
			// lift = (c/size) / (matches/N) > 1
			if c*s.ds.Len() > matches[tg]*subSizes[z] {
				carry = append(carry, z)
			} else {
				rest++
			}
		}
		slices.Sort(carry)
		return carry, rest
	}
	var tag string
	best := 0
	for tg := range holders {
		carry, rest := carriersOf(tg)
		score := min(len(carry), rest, st.Subclusters-len(carry))
		if score > best || score == best && score > 0 && tg < tag {
			tag, best = tg, score
		}
	}
	if tag == "" {
		t.Fatal("no tag is carried by some clusters and held by chance by others")
	}
	carry, rest := carriersOf(tag)
	t.Logf("searching #%s: carried by %d sub-clusters, held by chance by %d, of %d", tag, len(carry), rest, st.Subclusters)
	_ = holders
	// Autocomplete: typing the start of the tag lists suggestions that
	// begin with it.
	prefix := ""
	for _, r := range tag {
		if r > 127 || len(prefix) == 3 {
			break
		}
		prefix += string(r)
	}
	if prefix != "" {
		if err := chromedp.Do(bctx, chromedp.Focus(chromedp.CSS("#q")), chromedp.SendKeys(chromedp.CSS("#q"), "#"+prefix)); err != nil {
			t.Fatal(err)
		}
		sug, err := chromedp.Run(bctx, chromedp.Poll[[]string](
			`(() => { const l = [...document.querySelectorAll("#suggest li")].map(li => li.dataset.tag); return l.length ? l : null; })()`,
			chromedp.WithPollingTimeout(20*time.Second)))
		if err != nil {
			t.Fatalf("no suggestions for %q: %v", prefix, err)
		}
		for _, sg := range sug {
			if !strings.HasPrefix(strings.ToLower(sg), prefix) {
				t.Fatalf("suggestion %q for prefix %q", sg, prefix)
			}
		}
		t.Logf("suggestions for %q: %v", prefix, sug)
	}
	var want []int32
	var ans searchAnswer
	for attempt := 0; ; attempt++ {
		if err := chromedp.Do(bctx,
			chromedp.SetValue(chromedp.CSS("#q"), "#"+tag),
			chromedp.Click(chromedp.CSS("#searchbtn"))); err != nil {
			t.Fatal(err)
		}
		st = pollState(t, bctx, "search results", 30*time.Second, func(st ClientState) bool {
			return st.SearchQuery == "#"+tag && st.SearchVersion >= 1 && st.Results > 0
		})
		ans = searchAnswer{}
		if code := s.getJSON(t, "/api/search?limit=1000&q="+url.QueryEscape(tag), &ans); code != http.StatusOK {
			t.Fatalf("/api/search: HTTP %d", code)
		}
		if ans.Result.Version != uint32(st.SearchVersion) || st.Version != ans.Result.Version {
			if attempt < 3 {
				continue // a new version arrived in between: search again
			}
			t.Fatalf("versions kept changing: page %d, its search %d, server %d", st.Version, st.SearchVersion, ans.Result.Version)
		}
		want, _, _ = ans.carriers()
		break
	}
	if !slices.Equal(st.Highlighted, want) {
		t.Fatalf("search %q: page highlights %v, the clusters /api/search answers with lift above 1 are %v", tag, st.Highlighted, want)
	}
	// Independently of the index: the sub-clusters where the tag is more
	// common than in the dataset, from the dataset and the page's version.
	if a.Version == st.Version && !slices.Equal(st.Highlighted, carry) {
		t.Fatalf("search %q: page highlights %v, but the sub-clusters carrying the tag are %v", tag, st.Highlighted, carry)
	}
	// The list keeps the two apart: the carriers first, then, marked, the
	// clusters that hold the tag by chance.
	_, wantCarry, wantRest := ans.carriers()
	classes, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](
		`[...document.querySelectorAll("#results li")].map(li => li.className)`))
	if err != nil {
		t.Fatal(err)
	}
	var gotCarry, gotRest int
	for i, c := range classes {
		switch c {
		case "carrier":
			gotCarry++
			if gotRest > 0 {
				t.Fatalf("result %d carries the tag but comes after one that does not: %v", i, classes)
			}
		case "rest":
			gotRest++
		}
	}
	if gotCarry != wantCarry || gotRest != wantRest || gotRest == 0 || st.Carriers != wantCarry || st.Rest != wantRest {
		t.Fatalf("search %q: the page lists %d carriers and %d others (state %d, %d); /api/search has %d with lift above 1 and %d without",
			tag, gotCarry, gotRest, st.Carriers, st.Rest, wantCarry, wantRest)
	}
	if len(want) == 0 || len(want) >= st.Subclusters {
		t.Fatalf("search %q highlights %d of %d clusters", tag, len(want), st.Subclusters)
	}
	st = pollState(t, bctx, "highlighted cells drawn", 10*time.Second, func(st ClientState) bool {
		return st.HighlightedDrawn == len(want) && st.ClustersDrawn == st.Subclusters
	})
	screenshot(t, bctx, "explorer-search.png")

	// 3. Clicking the first result zooms to it and opens its panel.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#results li.carrier"))); err != nil {
		t.Fatal(err)
	}
	st = pollState(t, bctx, "zoom to the first result", 10*time.Second, func(st ClientState) bool {
		return st.Selected >= 0 && !st.Animating
	})
	if !slices.Contains(want, int32(st.Selected)) {
		t.Fatalf("selected sub-cluster %d is not a search hit %v", st.Selected, want)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[chromedp.Void](
		`document.querySelectorAll("#clustergrid img").length > 0 && !document.getElementById("clusterbox").hidden`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the cluster panel shows no images: %v", err)
	}
	// The panel's figures have human names, no raw keys.
	st = pollState(t, bctx, "the cluster's figures", 20*time.Second, func(st ClientState) bool { return len(st.Figures) > 0 })
	panel, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("clusterbox").innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range st.Figures {
		if strings.Contains(f, "_") {
			t.Fatalf("figure %q is a raw key (figures %v)", f, st.Figures)
		}
	}
	for _, raw := range []string{"dataset_share", "label_purity", "top_tag_share"} {
		if strings.Contains(panel, raw) {
			t.Fatalf("the cluster panel shows the raw key %s:\n%s", raw, panel)
		}
	}
	if !strings.Contains(panel, "share of the dataset") {
		t.Fatalf("the cluster panel lacks the share of the dataset:\n%s", panel)
	}
	// Hovering a cell shows its size and tags.
	tip, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(() => {
		const c = document.getElementById("map"), r = c.getBoundingClientRect();
		c.dispatchEvent(new MouseEvent("mousemove", {clientX: r.left + r.width/2, clientY: r.top + r.height/2, bubbles: true}));
		const t = document.getElementById("tooltip");
		return t.hidden ? "" : t.textContent; })()`))
	if err != nil || !strings.Contains(tip, "images") {
		t.Fatalf("hover tooltip %q, err %v", tip, err)
	}

	// 4. The super-class view nests the four rotations: four copies of
	// every sub-cluster.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#mode-superclasses")), chromedp.Click(chromedp.CSS("#resetview"))); err != nil {
		t.Fatal(err)
	}
	pollState(t, bctx, "super-class view", 10*time.Second, func(st ClientState) bool {
		return st.Mode == "superclasses" && !st.Animating && st.ClustersDrawn == 4*st.Subclusters
	})
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#mode-superclusters"))); err != nil {
		t.Fatal(err)
	}

	// 5. Invalid input is refused on the page, naming the field.
	if err := chromedp.Do(bctx,
		chromedp.SetValue(chromedp.CSS("#rc-k"), "-3"),
		chromedp.Click(chromedp.CSS("#rc-go"))); err != nil {
		t.Fatal(err)
	}
	st = pollState(t, bctx, "validation message", 5*time.Second, func(st ClientState) bool {
		return strings.Contains(st.ReclusterMsg, "k")
	})
	if !strings.HasPrefix(st.ReclusterMsg, "invalid") || st.ReclusterBusy {
		t.Fatalf("bad k: message %q, busy %v", st.ReclusterMsg, st.ReclusterBusy)
	}

	// 6. The recluster button produces a new Assignment version with the
	// new parameters, which the page shows, header included.
	v0 := st.Version
	if hdr, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("runinfo").textContent`)); err != nil || !strings.Contains(hdr, "m=4 k=6") {
		t.Fatalf("header before reclustering: %q (%v)", hdr, err)
	}
	if err := chromedp.Do(bctx,
		chromedp.SetValue(chromedp.CSS("#rc-m"), "3"),
		chromedp.SetValue(chromedp.CSS("#rc-k"), "5"),
		chromedp.Click(chromedp.CSS("#rc-go"))); err != nil {
		t.Fatal(err)
	}
	st = pollState(t, bctx, "the recluster job accepted", 10*time.Second, func(st ClientState) bool {
		return st.ReclusterBusy || st.Version > v0
	})
	st = pollState(t, bctx, "a new version after reclustering", 2*time.Minute, func(st ClientState) bool {
		return st.Version > v0 && st.Supers == 3 && st.Subclusters == 3*5 && !st.Animating && !st.ReclusterBusy
	})
	if st.ClustersDrawn != st.Subclusters || st.LastError != "" {
		t.Fatalf("after reclustering: %+v", st)
	}
	// The header follows the parameters in force, as /api/run says them,
	// and names the device the run trains on.
	var run struct {
		Params deepercluster.RunParams  `json:"params"`
		Device deepercluster.DeviceInfo `json:"device"`
	}
	s.getJSON(t, "/api/run", &run)
	if run.Device != e2eDevice {
		t.Fatalf("/api/run device %+v, want %+v", run.Device, e2eDevice)
	}
	hdr, err := chromedp.Run(bctx, chromedp.Poll[string](`(() => { const t = document.getElementById("runinfo").textContent; return t.includes("m=3 k=5") ? t : null; })()`,
		chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil || run.Params.M != 3 || run.Params.K != 5 {
		t.Fatalf("after reclustering with m=3 k=5: /api/run has %+v, the header reads %q (%v)", run.Params, hdr, err)
	}
	if !strings.Contains(hdr, "15 sub-clusters") {
		t.Fatalf("header %q: want 15 sub-clusters", hdr)
	}
	if want := "cpu: " + e2eDevice.Name; !strings.Contains(hdr, want) {
		t.Fatalf("header %q: want the device, %q", hdr, want)
	}
	// The search follows the new version, and still lights exactly what
	// the index answers for it.
	st = pollState(t, bctx, "search re-run on the new version", 30*time.Second, func(st ClientState) bool {
		return st.SearchVersion == int(st.Version) && !st.Animating
	})
	ans = searchAnswer{}
	s.getJSON(t, "/api/search?limit=1000&q="+url.QueryEscape(tag), &ans)
	if ans.Result.Version == st.Version {
		want, _, _ = ans.carriers()
		if !slices.Equal(st.Highlighted, want) {
			t.Fatalf("version %d: page highlights %v, /api/search answers %v", st.Version, st.Highlighted, want)
		}
	}
	screenshot(t, bctx, "explorer-recluster.png")
}

// TestBrowserReconnect drops the websocket under the page: the client shows
// it is down, reconnects with backoff, and draws the snapshot it gets again.
func TestBrowserReconnect(t *testing.T) {
	clientDir := needBrowser(t)
	a, sums := SyntheticRun(20_000, 8, 400, 2)
	srv := NewSyntheticServer(clientDir, a, sums, quiet())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	defer hs.Close()
	bctx := browsePage(t, "http://"+ln.Addr().String()+"/", 2*time.Minute, 1024, 700)
	st := pollState(t, bctx, "the snapshot drawn", time.Minute, func(st ClientState) bool {
		return st.Connected && st.Version == 1 && st.ClustersDrawn > 0
	})
	if st.Images != 20_000 || st.Subclusters != 400 || st.VersionsReceived != 1 {
		t.Fatalf("state %+v", st)
	}
	srv.DropClients()
	st = pollState(t, bctx, "reconnected", 30*time.Second, func(st ClientState) bool {
		return st.Connected && st.Reconnects >= 1 && st.VersionsReceived >= 2
	})
	if n := srv.Connections(); n < 2 {
		t.Fatalf("%d websocket connections, want a second one", n)
	}
	conn, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("conn").textContent`))
	if err != nil || conn != "live" {
		t.Fatalf("connection shown as %q (%v)", conn, err)
	}
	if st.ClustersDrawn == 0 || st.LastError != "" {
		t.Fatalf("after reconnecting: %+v", st)
	}
}

// TestBrowserChartsAfterRestart: a user who opens the page after `serve`
// restarted on a run sees the whole run's charts (loss, stability and
// label NMI of every version), not empty ones.
func TestBrowserChartsAfterRestart(t *testing.T) {
	clientDir := needBrowser(t)
	dir := t.TempDir()
	const n, epochs = 256, 3
	params := deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: 2, K: 3, ReclusterEvery: 1, PCADim: 8}
	s := startStackIn(t, dir, n, epochs, params, clientDir)
	for deadline := time.Now().Add(2 * time.Minute); s.run.Info().Progress.Phase != deepercluster.PhaseStopped; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("training of %d epochs did not end: %+v", epochs, s.run.Info().Progress)
		}
	}
	s.stop()

	s2 := startStackIn(t, dir, n, epochs, params, clientDir)
	bctx := browsePage(t, s2.url+"/", 2*time.Minute, 1024, 700)
	st := pollState(t, bctx, "the run's history in the charts", time.Minute, func(st ClientState) bool {
		return st.Connected && st.Version == epochs && st.MetricsPoints >= epochs
	})
	if st.MetricsPoints != epochs || st.LabelPoints != epochs || st.LossPoints == 0 {
		t.Fatalf("after a restart at version %d the charts hold %d metrics points (%d with label NMI) and %d loss points; want %d, %d and some",
			epochs, st.MetricsPoints, st.LabelPoints, st.LossPoints, epochs, epochs)
	}
}

// Command loadbench puts the explorer under load: it starts `deepercluster
// serve` as a real process on a synthetic run, waits for the first
// Assignment and its index, then for a fixed time keeps websocket clients
// connected (each keeping the Assignment as the browser does, from a
// snapshot and deltas), sends searches at a fixed rate, and asks for a
// reclustering half way, then a second one while the first runs (which
// must be refused with 409). The server trains the default model at the
// default resolution meanwhile. It reports errors, how many clients ended
// on the latest Assignment version, the p99 search latency, the growth of
// the server's resident memory and the 409s; the last line is one JSON
// object.
//
// Usage (scripts/bench-load.sh runs it):
//
//	go run ./bench/load --bin bin/deepercluster --images 100000 --clients 200 --rate 50 --duration 120s
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/bench/internal/benchstat"
	"github.com/deepercluster/deepercluster/bench/internal/child"
)

// Config is one load run.
type Config struct {
	Bin      string        // the deepercluster binary
	Dir      string        // run directory (a fresh temporary one when empty)
	Images   int           // synthetic images
	Clients  int           // websocket clients
	Rate     float64       // searches per second
	Duration time.Duration // measured time, from the first indexed Assignment
	// Ready bounds the wait for the first Assignment and its index, and
	// Settle the wait for the clients to reach the last version.
	Ready, Settle time.Duration
	// ModelArgs replace the serve flags of the model and resolution
	// (none: the defaults, as the benchmark measures); the CI test gives
	// a tiny model to stay fast.
	ModelArgs []string
	Log       *slog.Logger
}

// Result is what the run measured; its JSON is the bench's last line.
type Result struct {
	Errors          int     `json:"errors"`
	Clients         int     `json:"clients"`
	ClientsOnLatest int     `json:"clients_on_latest"`
	SearchP99ms     float64 `json:"search_p99_ms"`
	// SearchServerP99ms is the p99 of the handler's own time (its
	// Server-Timing header): the rest of a search's round trip is spent
	// in queues, the Go scheduler's and the kernel's, and on loopback.
	SearchServerP99ms float64 `json:"search_server_p99_ms"`
	RSSGrowthMB       float64 `json:"rss_growth_mb"`
	// Recluster409s counts the second reclustering requests, sent while
	// the first one runs, that were refused with 409 as they must be.
	Recluster409s int `json:"recluster_409s"`
	// The images per second that `train` and `serve` train at, idle, on
	// the same model and images, measured one after the other after the
	// load, in pairs (MeasureIPS): train_ips, serve_train_ips,
	// serve_train_ratio, ips_pairs, ips_pairs_quiet, train_ips_runs,
	// serve_train_ips_runs, others_cpu_share_max (null speeds and no runs
	// when skipped).
	IPSSummary
	// LoadAvg is the machine's 1-minute load average at the end: figures
	// taken beside other work are noisy.
	LoadAvg float64 `json:"load_avg_1m"`

	// Details, printed on lines of their own.
	Searches         int           `json:"-"`
	SearchP50ms      float64       `json:"-"`
	FromVersion      uint32        `json:"-"`
	LatestVersion    uint32        `json:"-"`
	RSSStartMB       float64       `json:"-"`
	RSSEndMB         float64       `json:"-"`
	RSSPeakMB        float64       `json:"-"`
	ReadyIn          time.Duration `json:"-"`
	ReclusterIn      time.Duration `json:"-"`
	ErrorSamples     []string      `json:"-"`
	FramesPerClient  float64       `json:"-"`
	DeltasPerClient  float64       `json:"-"`
	SnapshotsPerClnt float64       `json:"-"`
	// The machine (no peer: the server alone is measured).
	benchstat.MachineInfo
}

func main() {
	if spec := os.Getenv(clientsEnv); spec != "" {
		os.Exit(clientsMain(spec, os.Stdin, os.Stdout))
	}
	cfg := Config{}
	flag.StringVar(&cfg.Bin, "bin", "bin/deepercluster", "deepercluster binary")
	flag.StringVar(&cfg.Dir, "dir", "", "run directory (default: a temporary one, removed after)")
	flag.IntVar(&cfg.Images, "images", 100000, "synthetic images")
	flag.IntVar(&cfg.Clients, "clients", 200, "websocket clients")
	flag.Float64Var(&cfg.Rate, "rate", 50, "searches per second")
	flag.DurationVar(&cfg.Duration, "duration", 120*time.Second, "measured duration")
	flag.DurationVar(&cfg.Ready, "ready", 15*time.Minute, "longest wait for the first indexed Assignment")
	flag.DurationVar(&cfg.Settle, "settle", 10*time.Minute, "longest wait for the reclustering and the clients after the clock")
	ips := IPSConfig{Ready: 15 * time.Minute}
	flag.IntVar(&ips.Images, "ips-images", 20000, "synthetic images of the idle train/serve speed comparison")
	flag.IntVar(&ips.Pairs, "ips-pairs", 2, "idle comparison: pairs of train and serve, in alternating order (train first in odd pairs, serve first in even ones)")
	flag.DurationVar(&ips.Warm, "ips-warm", 30*time.Second, "idle comparison: time skipped after the first step (serve: and until its first map)")
	flag.DurationVar(&ips.Window, "ips-window", 60*time.Second, "idle comparison: measured time of each (0: skip the comparison)")
	flag.Parse()
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	res, err := Run(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
	if ips.Window > 0 {
		// After the load's server has exited: both measured idle.
		d, err := os.MkdirTemp("", "loadbench-ips")
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadbench:", err)
			os.Exit(1)
		}
		ips.Bin, ips.Dir, ips.Log = cfg.Bin, d, cfg.Log
		res.IPSSummary, err = MeasureIPS(context.Background(), ips)
		os.RemoveAll(d)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadbench: idle train/serve speed:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("images %d, clients %d, %.0f searches/s for %v after the first Assignment (ready in %v)\n",
		cfg.Images, cfg.Clients, cfg.Rate, cfg.Duration, res.ReadyIn.Round(time.Second))
	fmt.Printf("searches %d: p50 %.1f ms, p99 %.1f ms (the server's own time: p99 %.1f ms)\n", res.Searches, res.SearchP50ms, res.SearchP99ms, res.SearchServerP99ms)
	fmt.Printf("reclustering asked half way: version %d -> %d, published %v after the request; a second one asked while it ran: %d refused with 409\n",
		res.FromVersion, res.LatestVersion, res.ReclusterIn.Round(time.Millisecond), res.Recluster409s)
	fmt.Printf("frames per client: %.1f (snapshots %.1f, deltas %.1f)\n", res.FramesPerClient, res.SnapshotsPerClnt, res.DeltasPerClient)
	fmt.Printf("server RSS %.1f MB at the start of the clock (just after the first index build), peak %.1f MB, %.1f MB at the end\n",
		res.RSSStartMB, res.RSSPeakMB, res.RSSEndMB)
	if res.IPSPairs > 0 {
		fmt.Printf("idle, %d images, one after the other, %d pairs in alternating order: train %v img/s, serve %v img/s; quiet pairs %d (others' CPU share up to %.3f)\n",
			ips.Images, res.IPSPairs, res.TrainIPSRuns, res.ServeTrainIPSRuns, res.IPSPairsQuiet, res.OthersCPUShareMax)
		if res.TrainIPS != nil {
			fmt.Printf("medians over the quiet pairs: train %.1f img/s, serve %.1f img/s, serve/train %.4fx\n",
				*res.TrainIPS, *res.ServeTrainIPS, *res.ServeTrainRatio)
		}
	}
	for _, e := range res.ErrorSamples {
		fmt.Println("error:", e)
	}
	res.MachineInfo = benchstat.Machine(0)
	res.LoadAvg = benchstat.LoadAvg()
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	if res.IPSPairs > 0 && res.IPSPairsQuiet == 0 {
		fmt.Fprintf(os.Stderr, "loadbench: no quiet pair for the idle train/serve speed (other processes used %.0f%% of the machine's CPU or more during a measurement of every pair, up to %.1f%%): train_ips, serve_train_ips and serve_train_ratio are null; rerun on a quiet machine\n",
			quietMax*100, res.OthersCPUShareMax*100)
		os.Exit(1)
	}
}

// errs counts errors and keeps the first few.
type errs struct {
	mu      sync.Mutex
	n       int
	samples []string
}

func (e *errs) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if len(e.samples) < 10 {
		e.samples = append(e.samples, fmt.Sprintf(format, args...))
	}
}

// Run starts the server, loads it and measures.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Dir == "" {
		d, err := os.MkdirTemp("", "loadbench")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		cfg.Dir = filepath.Join(d, "run")
	}
	// The default model at the default resolution trains meanwhile, as a
	// user's serve does; short epochs so that a requested reclustering
	// starts soon. Periodic reclustering is off; the ones in the middle
	// are asked for.
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", cfg.Dir,
		"--n", strconv.Itoa(cfg.Images), "--m", "4", "--k", "8", "--recluster-every", "1000", "--epoch-size", "640",
		"--epochs", "1000000"}, cfg.ModelArgs...)
	cmd := exec.CommandContext(ctx, cfg.Bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(filepath.Dir(cfg.Dir), "serve.log"))
	if err != nil {
		if err := os.MkdirAll(filepath.Dir(cfg.Dir), 0o755); err != nil {
			return nil, err
		}
		if logFile, err = os.Create(filepath.Join(filepath.Dir(cfg.Dir), "serve.log")); err != nil {
			return nil, err
		}
	}
	defer logFile.Close()
	cmd.Stderr = logFile
	proc, err := child.Start(cmd)
	if err != nil {
		return nil, err
	}
	defer proc.Stop(30 * time.Second)
	serveLog := func() string { return child.LogTail(logFile.Name()) }
	base, err := child.ServeURL(stdout)
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, serveLog())
	}
	api := &apiClient{base: base, http: &http.Client{Timeout: 30 * time.Second}}
	cfg.Log.Info("serve started", "url", base, "pid", cmd.Process.Pid)

	// Wait for the first Assignment and its index.
	start := time.Now()
	var v0 uint32
	for {
		if time.Since(start) > cfg.Ready {
			return nil, fmt.Errorf("no indexed Assignment within %v\n%s", cfg.Ready, serveLog())
		}
		select {
		case <-proc.Exited():
			return nil, fmt.Errorf("serve exited: %v\n%s", proc.Err(), serveLog())
		case <-time.After(200 * time.Millisecond):
		}
		var s searchAnswer
		if code, err := api.get("/api/search?q=travel", &s); err == nil && code == 200 && s.Result.Version > 0 {
			v0 = s.Result.Version
			break
		}
	}
	res := &Result{Clients: cfg.Clients, FromVersion: v0, ReadyIn: time.Since(start)}
	cfg.Log.Info("first assignment indexed", "version", v0, "after", res.ReadyIn.Round(time.Millisecond))
	queries := api.queries()

	var errCount errs
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	clients, err := startClients(wsURL, cfg.Clients)
	if err != nil {
		return nil, err
	}
	defer clients.stop()
	rss0, err := proc.RSSMB()
	if err != nil {
		return nil, err
	}
	res.RSSStartMB = rss0

	// The clock: searches at a fixed rate, a reclustering half way.
	var latMu sync.Mutex
	var lats, serverLats []float64 // round trips; the handler's own time (Server-Timing)
	var swg sync.WaitGroup
	tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
	clock := time.NewTimer(cfg.Duration)
	half := time.NewTimer(cfg.Duration / 2)
	rssTick := time.NewTicker(time.Second)
	defer rssTick.Stop()
	res.RSSPeakMB = rss0
	var asked time.Time
	n := 0
loop:
	for {
		select {
		case <-proc.Exited():
			return nil, fmt.Errorf("serve exited under load: %v\n%s", proc.Err(), serveLog())
		case <-clock.C:
			break loop
		case <-rssTick.C:
			if r, err := proc.RSSMB(); err == nil {
				res.RSSPeakMB = max(res.RSSPeakMB, r)
			}
		case <-half.C:
			asked = time.Now()
			code, body, err := api.post("/api/recluster", `{"k": 10}`)
			if err != nil || code != http.StatusAccepted {
				errCount.add("recluster request: %d %s %v", code, body, err)
			}
			// A second one while the first runs (its extraction alone
			// takes seconds): refused with 409, never queued nor lost.
			code, body, err = api.post("/api/recluster", `{"k": 12}`)
			switch {
			case err == nil && code == http.StatusConflict:
				res.Recluster409s++
			default:
				errCount.add("second recluster request while the first runs: %d %s %v, want 409", code, body, err)
			}
		case <-tick.C:
			q := queries[n%len(queries)]
			n++
			swg.Add(1)
			go func() {
				defer swg.Done()
				t0 := time.Now()
				var s searchAnswer
				code, h, err := api.getHeader("/api/search?"+q, &s)
				ms := float64(time.Since(t0).Microseconds()) / 1000
				if err != nil || code != http.StatusOK {
					errCount.add("search %s: %d %v", q, code, err)
					return
				}
				serverMs, err := handlerMs(h)
				if err != nil {
					errCount.add("search %s: %v", q, err)
					return
				}
				latMu.Lock()
				serverLats = append(serverLats, serverMs)
				lats = append(lats, ms)
				latMu.Unlock()
			}()
		}
	}
	tick.Stop()
	swg.Wait()

	// The reclustering asked half way must reach the server and every
	// client before the run is judged.
	settle := time.Now()
	latest := v0
	for {
		var r runAnswer
		if code, err := api.get("/api/run", &r); err == nil && code == 200 {
			latest = r.Version
			if r.Job != nil && r.Job.State == "done" && res.ReclusterIn == 0 {
				res.ReclusterIn = r.Job.Finished.Sub(asked)
			}
		}
		st, err := clients.status()
		if err != nil {
			return nil, err
		}
		if latest > v0 && st.onVersion(latest) == st.Clients {
			break
		}
		if time.Since(settle) > cfg.Settle {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	res.LatestVersion = latest
	if latest == v0 {
		errCount.add("the reclustering asked half way never produced a new version (still %d after %v)", v0, cfg.Settle)
	}
	rss1, err := proc.RSSMB()
	if err != nil {
		return nil, err
	}
	res.RSSEndMB, res.RSSGrowthMB = rss1, math.Round((rss1-rss0)*10)/10
	st, err := clients.stop()
	if err != nil {
		return nil, err
	}
	res.ClientsOnLatest = st.onVersion(latest)
	if k := float64(st.Clients); k > 0 {
		res.FramesPerClient = float64(st.Frames) / k
		res.SnapshotsPerClnt = float64(st.Snapshots) / k
		res.DeltasPerClient = float64(st.Deltas) / k
	}
	errCount.n += st.Errors
	errCount.samples = append(errCount.samples, st.Samples...)
	slices.Sort(lats)
	slices.Sort(serverLats)
	res.Searches = len(lats)
	res.SearchP50ms = math.Round(percentile(lats, 0.50)*10) / 10
	res.SearchP99ms = math.Round(percentile(lats, 0.99)*10) / 10
	res.SearchServerP99ms = math.Round(percentile(serverLats, 0.99)*10) / 10
	res.Errors = errCount.n
	res.ErrorSamples = errCount.samples
	return res, nil
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

type searchAnswer struct {
	Result struct {
		Version uint32 `json:"version"`
	} `json:"result"`
}

type runAnswer struct {
	Version uint32 `json:"version"`
	Job     *struct {
		State    string    `json:"state"`
		Finished time.Time `json:"finished"`
	} `json:"job"`
}

type apiClient struct {
	base string
	http *http.Client
}

func (c *apiClient) get(path string, v any) (int, error) {
	code, _, err := c.getHeader(path, v)
	return code, err
}

// getHeader is get that also gives the answer's header.
func (c *apiClient) getHeader(path string, v any) (int, http.Header, error) {
	resp, err := c.http.Get(c.base + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, resp.Header, err
	}
	if resp.StatusCode == http.StatusOK && v != nil {
		return resp.StatusCode, resp.Header, json.Unmarshal(b, v)
	}
	return resp.StatusCode, resp.Header, nil
}

// handlerMs reads the server's own time from an answer's Server-Timing
// header ("app;dur=MS").
func handlerMs(h http.Header) (float64, error) {
	v := h.Get("Server-Timing")
	ms, ok := strings.CutPrefix(v, "app;dur=")
	if !ok {
		return 0, fmt.Errorf("Server-Timing %q: want app;dur=MS", v)
	}
	d, err := strconv.ParseFloat(ms, 64)
	if err != nil {
		return 0, fmt.Errorf("Server-Timing %q: %w", v, err)
	}
	return d, nil
}

func (c *apiClient) post(path, body string) (int, string, error) {
	resp, err := c.http.Post(c.base+path, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// queries mixes the kinds of search the UI sends, over the tags the
// clusters actually carry.
func (c *apiClient) queries() []string {
	tags := []string{"travel", "city", "nature", "beach", "summer"}
	var cl struct {
		Supers []struct {
			TopTags []deepercluster.TagCount `json:"top_tags"`
		} `json:"supers"`
	}
	if code, err := c.get("/api/clusters", &cl); err == nil && code == 200 {
		for _, s := range cl.Supers {
			for _, t := range s.TopTags {
				if !slices.Contains(tags, t.Tag) {
					tags = append(tags, t.Tag)
				}
			}
		}
	}
	var out []string
	for i, t := range tags {
		next := tags[(i+1)%len(tags)]
		out = append(out,
			url.Values{"q": {t}}.Encode(),
			url.Values{"q": {t + "," + next}, "op": {"or"}}.Encode(),
			url.Values{"q": {t[:min(2, len(t))] + "*"}}.Encode(),
			url.Values{"text": {t}}.Encode(),
		)
	}
	return out
}

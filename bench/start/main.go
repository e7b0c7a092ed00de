// Command startbench measures how long `deepercluster serve` takes to start
// on a large synthetic set: it starts serve as a real process on a fresh
// run directory and times, from the process start, the HTTP API's first
// answer (http_s), the first Assignment (first_assignment_s: /api/run
// names version 1), its search index (index_ready_s: a search answers
// from version 1) and the final 2D map of that version (layout_ready_s:
// serve logs "layout ready"), with the resident memory then (rss_mb). It
// says where the time went from serve's own log lines: the reclustering's
// features, PCA and k-means ("reclustered"), the index build ("index
// built") and the layout's kNN graph and embedding ("layout computed"),
// how long training waited for the first map ("training resumed" held_s:
// train_held_s), and the CPU seconds serve had used by each point (figures taken beside
// other work stretch the wall-clock times, not the CPU seconds). The last
// line is one JSON object.
//
// Usage (scripts/bench-start.sh runs it):
//
//	go run ./bench/start --bin bin/deepercluster --images 1000000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/deepercluster/deepercluster/bench/internal/benchstat"
	"github.com/deepercluster/deepercluster/bench/internal/child"
)

// Result is what one start measured; its JSON is the bench's last line.
type Result struct {
	Images           int     `json:"images"`
	HTTPs            float64 `json:"http_s"`
	FirstAssignments float64 `json:"first_assignment_s"`
	IndexReadys      float64 `json:"index_ready_s"`
	LayoutReadys     float64 `json:"layout_ready_s"`
	RSSMB            float64 `json:"rss_mb"` // at layout_ready_s
	RSSFirstMB       float64 `json:"rss_first_assignment_mb"`
	// Where the time went, from serve's log lines (seconds).
	ExtractS   float64 `json:"extract_s"`
	PCAS       float64 `json:"pca_s"`
	KMeansS    float64 `json:"kmeans_s"`
	IndexS     float64 `json:"index_s"`
	LayoutKNNS float64 `json:"layout_knn_s"`
	EmbedS     float64 `json:"layout_embed_s"`
	// TrainHeldS is how long training waited for the first map
	// ("training resumed" held_s): the map has the cores meanwhile.
	TrainHeldS float64 `json:"train_held_s"`
	// CPU seconds of serve at the first Assignment and at the map.
	CPUFirstS  float64 `json:"cpu_first_assignment_s"`
	CPULayoutS float64 `json:"cpu_layout_ready_s"`
	LoadAvg    float64 `json:"load_avg_1m"`
	benchstat.MachineInfo
}

func main() {
	bin := flag.String("bin", "bin/deepercluster", "deepercluster binary")
	dir := flag.String("dir", "", "run directory (default: a temporary one, removed after)")
	images := flag.Int("images", 1000000, "synthetic images")
	limit := flag.Duration("timeout", 40*time.Minute, "longest wait for the map")
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "startbench")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(d)
		*dir = filepath.Join(d, "run")
	}
	res, err := run(*bin, *dir, *images, *limit)
	if err != nil {
		fail(err)
	}
	fmt.Printf("serve --n %d: HTTP at %.1f s, first Assignment at %.1f s (features %.1f s, PCA %.1f s, k-means %.1f s; %.0f CPU s, RSS %.0f MB), index at %.1f s (build %.1f s), map at %.1f s (kNN %.1f s, embedding %.1f s, training held %.1f s; %.0f CPU s, RSS %.0f MB)\n",
		res.Images, res.HTTPs, res.FirstAssignments, res.ExtractS, res.PCAS, res.KMeansS, res.CPUFirstS, res.RSSFirstMB,
		res.IndexReadys, res.IndexS, res.LayoutReadys, res.LayoutKNNS, res.EmbedS, res.TrainHeldS, res.CPULayoutS, res.RSSMB)
	res.MachineInfo = benchstat.Machine(0)
	res.LoadAvg = benchstat.LoadAvg()
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "startbench:", err)
	os.Exit(1)
}

func run(bin, dir string, images int, limit time.Duration) (*Result, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(filepath.Dir(dir), "serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	ctx, cancel := context.WithTimeout(context.Background(), limit+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--n", strconv.Itoa(images))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logFile
	start := time.Now()
	proc, err := child.Start(cmd)
	if err != nil {
		return nil, err
	}
	defer proc.Stop(60 * time.Second)
	serveLog := func() string {
		b, _ := os.ReadFile(logPath)
		return string(b)
	}
	tail := func() string { return child.LogTail(logPath) }
	base, err := child.ServeURL(stdout)
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, tail())
	}
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string, v any) bool {
		resp, err := client.Get(base + path)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(v) == nil
	}
	res := &Result{Images: images}
	since := func() float64 { return round1(time.Since(start).Seconds()) }
	for res.LayoutReadys == 0 {
		if time.Since(start) > limit {
			return nil, fmt.Errorf("no map within %v\n%s", limit, tail())
		}
		select {
		case <-proc.Exited():
			return nil, fmt.Errorf("serve exited: %v\n%s", proc.Err(), tail())
		case <-time.After(250 * time.Millisecond):
		}
		var info struct {
			Version uint32 `json:"version"`
		}
		if res.FirstAssignments == 0 && get("/api/run", &info) {
			if res.HTTPs == 0 {
				res.HTTPs = since()
			}
			if info.Version > 0 {
				res.FirstAssignments = since()
				res.RSSFirstMB, _ = proc.RSSMB()
				res.CPUFirstS, _ = proc.CPUSeconds()
			}
		}
		if res.FirstAssignments > 0 && res.IndexReadys == 0 {
			var s struct {
				Result struct {
					Version uint32 `json:"version"`
				} `json:"result"`
			}
			if get("/api/search?q=travel", &s) && s.Result.Version > 0 {
				res.IndexReadys = since()
			}
		}
		if res.FirstAssignments > 0 && strings.Contains(serveLog(), `msg="layout ready"`) {
			res.LayoutReadys = since()
			res.RSSMB, _ = proc.RSSMB()
			res.CPULayoutS, _ = proc.CPUSeconds()
		}
	}
	if res.IndexReadys == 0 {
		// The map came first: wait for the index too.
		for {
			var s struct {
				Result struct {
					Version uint32 `json:"version"`
				} `json:"result"`
			}
			if get("/api/search?q=travel", &s) && s.Result.Version > 0 {
				res.IndexReadys = since()
				break
			}
			if time.Since(start) > limit {
				return nil, fmt.Errorf("no index within %v\n%s", limit, tail())
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	// Training resumes right after the map: its line, with the seconds
	// it was held, follows "layout ready".
	for wait := time.Now().Add(10 * time.Second); time.Now().Before(wait); time.Sleep(100 * time.Millisecond) {
		if l := serveLog(); !strings.Contains(l, `msg="training held for the first map"`) ||
			strings.Contains(l, `msg="training resumed"`) {
			break
		}
	}
	log := serveLog()
	res.TrainHeldS = logField(log, "training resumed", "held_s")
	res.ExtractS = logField(log, "reclustered", "extract_s")
	res.PCAS = logField(log, "reclustered", "pca_s")
	res.KMeansS = logField(log, "reclustered", "kmeans_s")
	res.LayoutKNNS = logField(log, "layout computed", "knn_s")
	res.EmbedS = logField(log, "layout computed", "embed_s")
	if took := logValue(log, "index built", "took"); took != "" {
		if d, err := time.ParseDuration(took); err == nil {
			res.IndexS = round1(d.Seconds())
		}
	}
	res.RSSMB, res.RSSFirstMB = math.Round(res.RSSMB), math.Round(res.RSSFirstMB)
	res.CPUFirstS, res.CPULayoutS = round1(res.CPUFirstS), round1(res.CPULayoutS)
	return res, nil
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// logValue is the value of key on the first slog text line of serve's log
// whose message is msg ("" when there is none).
func logValue(log, msg, key string) string {
	m := "msg=" + msg
	if strings.Contains(msg, " ") {
		m = "msg=" + strconv.Quote(msg)
	}
	for _, l := range strings.Split(log, "\n") {
		if !strings.Contains(l, " "+m+" ") {
			continue
		}
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(f, key+"="); ok {
				return v
			}
		}
		return ""
	}
	return ""
}

// logField is logValue as a number of seconds, rounded to 0.1 (0 when
// absent).
func logField(log, msg, key string) float64 {
	v, err := strconv.ParseFloat(logValue(log, msg, key), 64)
	if err != nil {
		return 0
	}
	return round1(v)
}

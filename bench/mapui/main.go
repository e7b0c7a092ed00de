// Command mapui measures the map view's frame times in headless Chromium:
// the real server (server.New, no training) holds a generated clustered
// run of a million images (e2e.SyntheticRun) and a precomputed clustered
// 2D layout of them, published with Server.PublishLayout as the server's
// own layout step publishes one; the real client (built with the dctest
// tag) switches to the map view and runs dcMapBench, a scripted pan and
// zoom of a fixed number of frames. Its last output line is one JSON
// object: {"map_frame_p50_ms", "map_frame_p95_ms", "map_draw_p95_ms",
// "map_frames", "map_points", "map_drawn_p50" (points drawn per frame: a
// zoomed-out frame draws an even sample, see wasm/points.go), "map_webgl",
// "load_avg_1m"}.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/bench/internal/benchstat"
	"github.com/deepercluster/deepercluster/dataset/synthetic"
	"github.com/deepercluster/deepercluster/e2e"
	"github.com/deepercluster/deepercluster/server"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mapui:", err)
		os.Exit(1)
	}
}

// clusteredLayout places each image near its sub-cluster's centre, the
// sub-clusters around their super-cluster's centre, as a layout of
// clustered features looks.
func clusteredLayout(a *deepercluster.Assignment, seed uint64) *deepercluster.Layout {
	rng := rand.New(rand.NewPCG(seed, 2))
	sx, sy := make([]float64, a.M), make([]float64, a.M)
	for c := range sx {
		sx[c], sy[c] = 60*rng.NormFloat64(), 60*rng.NormFloat64()
	}
	zx, zy := make([]float64, len(a.SubParent)), make([]float64, len(a.SubParent))
	for z, c := range a.SubParent {
		zx[z], zy[z] = sx[c]+8*rng.NormFloat64(), sy[c]+8*rng.NormFloat64()
	}
	n := len(a.Sub)
	l := &deepercluster.Layout{Version: a.Version, Final: true, X: make([]float32, n), Y: make([]float32, n)}
	for i, z := range a.Sub {
		l.X[i] = float32(zx[z] + 0.8*rng.NormFloat64())
		l.Y[i] = float32(zy[z] + 0.8*rng.NormFloat64())
	}
	return l
}

func run() error {
	images := flag.Int("images", 1_000_000, "images of the generated run")
	subs := flag.Int("subclusters", 10_000, "sub-clusters")
	supers := flag.Int("m", 100, "super-clusters")
	frames := flag.Int("frames", 480, "frames of scripted pan and zoom")
	verbose := flag.Bool("verbose", false, "print every frame's interval, render time and points drawn (to stderr)")
	static := flag.String("static", e2e.TestClientDir, "directory with the client built with the dctest tag (make wasm)")
	w := flag.Int("width", 1280, "viewport width")
	h := flag.Int("height", 800, "viewport height")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	wasm := filepath.Join(*static, "main.wasm")
	if _, err := os.Stat(wasm); err != nil {
		return fmt.Errorf("%s: %w (make wasm builds it)", wasm, err)
	}
	t0 := time.Now()
	ds, err := synthetic.New(synthetic.Config{Seed: 3, N: *images, Resolution: 16})
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	a, _ := e2e.SyntheticRun(*images, *supers, *subs, 1)
	layout := clusteredLayout(a, 1)
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0"}, ds, nil, log)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	bgDone := make(chan struct{})
	go func() { srv.Run(ctx); close(bgDone) }()
	srv.OnAssignment(a)
	if err := srv.PublishLayout(layout); err != nil {
		return fmt.Errorf("publish the layout: %w", err)
	}
	log.Info("generated run and layout", "images", *images, "subclusters", *subs, "took", time.Since(t0))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	h0 := srv.Handler()
	hs := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/main.wasm" {
			rw.Header().Set("Content-Type", "application/wasm")
			http.ServeFile(rw, r, wasm)
			return
		}
		h0.ServeHTTP(rw, r)
	})}
	go hs.Serve(ln)
	defer func() {
		srv.CloseClients()
		hs.Close()
		cancel()
		<-bgDone
	}()

	dir, err := os.MkdirTemp("", "mapui-chromium-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bctx, bcancel, err := e2e.NewBrowser(ctx, dir, *w, *h)
	if err != nil {
		return err
	}
	defer bcancel()
	url := "http://" + ln.Addr().String() + "/"
	t1 := time.Now()
	ready := fmt.Sprintf(`window.dcState && JSON.parse(dcState()).images == %d && JSON.parse(dcState()).map_points == %d`, *images, *images)
	if err := chromedp.Do(bctx, chromedp.Navigate(url),
		chromedp.Poll[chromedp.Void](ready, chromedp.WithPollingTimeout(4*time.Minute))); err != nil {
		return fmt.Errorf("load %s: %w", url, err)
	}
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#view-map")),
		chromedp.Poll[chromedp.Void](`JSON.parse(dcState()).map_points_drawn > 0`, chromedp.WithPollingTimeout(time.Minute))); err != nil {
		return fmt.Errorf("show the map view: %w", err)
	}
	var st struct {
		WebGL   bool    `json:"map_webgl"`
		Points  int     `json:"map_points"`
		Drawn   int     `json:"map_points_drawn"`
		FrameMs float64 `json:"map_last_frame_ms"`
		Err     string  `json:"last_error"`
	}
	s, err := chromedp.Run(bctx, chromedp.Evaluate[string](`dcState()`))
	if err != nil {
		return fmt.Errorf("dcState: %w", err)
	}
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return fmt.Errorf("decode dcState: %w", err)
	}
	log.Info("map view drawn", "after", time.Since(t1), "webgl", st.WebGL, "points", st.Points, "drawn_zoomed_out", st.Drawn, "first_frame_ms", st.FrameMs, "error", st.Err)
	if st.Points != *images {
		return fmt.Errorf("the map view holds %d points, want %d", st.Points, *images)
	}
	res, err := chromedp.Run(bctx, chromedp.Evaluate[string](fmt.Sprintf("dcMapBench(%d)", *frames), chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("dcMapBench: %w", err)
	}
	var b struct {
		Intervals []float64 `json:"intervals"`
		Render    []float64 `json:"render"`
		Drawn     []float64 `json:"drawn"`
	}
	if err := json.Unmarshal([]byte(res), &b); err != nil {
		return fmt.Errorf("decode the bench result: %w", err)
	}
	if len(b.Intervals) == 0 {
		return fmt.Errorf("no frames measured")
	}
	p50, p95 := benchstat.Pctl(b.Intervals, 0.5), benchstat.Pctl(b.Intervals, 0.95)
	if *verbose {
		for i, v := range b.Intervals {
			fmt.Fprintf(os.Stderr, "frame %d interval %.1f render %.1f drawn %.0f\n", i, v, b.Render[i], b.Drawn[i])
		}
	}
	fmt.Printf("map view: %d points (WebGL %v), %d frames of scripted pan and zoom, %dx%d viewport; points drawn per frame p50 %.0f, max %.0f (while the view moves, an even sample within a budget that adapts to the frame rate; all of those on screen once it is still)\n",
		st.Points, st.WebGL, len(b.Intervals), *w, *h, benchstat.Pctl(b.Drawn, 0.5), benchstat.Pctl(b.Drawn, 1))
	fmt.Printf("frame interval (requestAnimationFrame to requestAnimationFrame): p50 %.1f ms, p95 %.1f ms, max %.1f ms (target p95 <= 33 ms)\n",
		p50, p95, benchstat.Pctl(b.Intervals, 1))
	fmt.Printf("draw time in the client (WebGL draw call + names overlay): p50 %.1f ms, p95 %.1f ms\n", benchstat.Pctl(b.Render, 0.5), benchstat.Pctl(b.Render, 0.95))
	outMap := map[string]any{"map_frame_p50_ms": benchstat.Round1(p50), "map_frame_p95_ms": benchstat.Round1(p95),
		"map_draw_p95_ms": benchstat.Round1(benchstat.Pctl(b.Render, 0.95)), "map_frames": len(b.Intervals), "map_points": st.Points,
		"map_drawn_p50": benchstat.Pctl(b.Drawn, 0.5),
		"map_webgl":     st.WebGL, "load_avg_1m": benchstat.LoadAvg()}
	benchstat.Machine(0).AddTo(outMap)
	out, _ := json.Marshal(outMap)
	fmt.Println(string(out))
	return nil
}

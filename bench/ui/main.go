// Command benchui measures the explorer client's frame times in headless
// Chromium over a scripted pan and zoom of a synthetic run (default a
// million images in 100,000 sub-clusters, sent over a websocket in the real
// wire format). Beside it, the whole map drawn our way and the plain way
// (one canvas fillRect per cell from JavaScript, culling off-screen and
// sub-pixel cells as ours does), frame by frame in alternation. Its last
// output line is one JSON object: {"frame_p50_ms", "frame_p95_ms",
// "full_frame_p50_ms", "full_frame_p95_ms", "peer_frame_p50_ms",
// "peer_frame_p95_ms", "peer_cells_drawn", "images", "subclusters",
// "load_avg_1m"}.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/deepercluster/deepercluster/bench/internal/benchstat"
	"github.com/deepercluster/deepercluster/e2e"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchui:", err)
		os.Exit(1)
	}
}

func run() error {
	images := flag.Int("images", 1_000_000, "images of the synthetic run")
	subs := flag.Int("subclusters", 100_000, "sub-clusters")
	supers := flag.Int("m", 100, "super-clusters")
	frames := flag.Int("frames", 480, "frames of scripted pan and zoom")
	static := flag.String("static", e2e.TestClientDir, "directory with index.html and the client built with the dctest tag (make wasm)")
	w := flag.Int("width", 1280, "viewport width")
	h := flag.Int("height", 800, "viewport height")
	verbose := flag.Bool("v", false, "print every frame's times")
	fullFrames := flag.Int("full-frames", 30, "whole-map frames of ours and of the peer, in turn")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if _, err := os.Stat(*static + "/main.wasm"); err != nil {
		return fmt.Errorf("%s/main.wasm: %w (make wasm builds it)", *static, err)
	}
	t0 := time.Now()
	a, sums := e2e.SyntheticRun(*images, *supers, *subs, 1)
	srv := e2e.NewSyntheticServer(*static, a, sums, log)
	log.Info("synthetic run", "images", *images, "subclusters", *subs, "snapshot_mb", float64(len(srv.Frame))/1e6, "took", time.Since(t0))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	defer hs.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "benchui-chromium-")
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
	if err := chromedp.Do(bctx, chromedp.Navigate(url),
		chromedp.Poll[chromedp.Void](`window.dcState && JSON.parse(dcState()).clusters_drawn > 0 && !JSON.parse(dcState()).animating`,
			chromedp.WithPollingTimeout(3*time.Minute))); err != nil {
		return fmt.Errorf("load %s: %w", url, err)
	}
	st, err := e2e.State(bctx)
	if err != nil {
		return err
	}
	log.Info("first frame", "after", time.Since(t1), "version", st.Version, "images", st.Images, "subclusters", st.Subclusters,
		"clusters_drawn", st.ClustersDrawn, "decode_ms", st.DecodeMs, "layout_ms", st.LayoutMs, "first_render_ms", st.LastFrameMs)
	if st.Images != *images || st.Subclusters != *subs {
		return fmt.Errorf("client holds %d images, %d sub-clusters; want %d, %d", st.Images, st.Subclusters, *images, *subs)
	}
	// Side by side on the whole map: our frame (Go raster, one copy, one
	// putImageData) against the plain way, one canvas fillRect per cell
	// from JavaScript that culls as ours does (cells off the canvas or
	// under one pixel wide or high are not drawn), both read back so the
	// canvas is really written; one frame each in turn, after the same
	// warm-up, so that load on the machine falls on both alike.
	peerCells, err := chromedp.Run(bctx, chromedp.Evaluate[float64](`(() => {
		const cells = dcCells(), c = document.getElementById("map").getContext("2d");
		const W = c.canvas.width, H = c.canvas.height;
		window.dcPeerFrame = () => {
			const t0 = performance.now();
			let drawn = 0;
			c.fillStyle = "#16181d"; c.fillRect(0, 0, W, H);
			for (let i = 0; i < cells.length; i += 7) {
				const x = cells[i], y = cells[i+1], w = cells[i+2], h = cells[i+3];
				if (w < 1 || h < 1 || x + w <= 0 || y + h <= 0 || x >= W || y >= H) continue;
				c.fillStyle = "rgb(" + cells[i+4] + "," + cells[i+5] + "," + cells[i+6] + ")";
				c.fillRect(x, y, w, h);
				drawn++;
			}
			c.getImageData(0, 0, 1, 1);
			window.dcPeerDrawn = drawn;
			return performance.now() - t0;
		};
		dcPeerFrame();
		return window.dcPeerDrawn; })()`))
	if err != nil {
		return fmt.Errorf("peer frame: %w", err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[float64](`dcFullFrames(2)`)); err != nil { // warm-up, as the peer's above
		return fmt.Errorf("dcFullFrames: %w", err)
	}
	var oursFull, peerFull []float64
	for range *fullFrames {
		o, err := chromedp.Run(bctx, chromedp.Evaluate[float64](`dcFullFrames(1)`))
		if err != nil {
			return fmt.Errorf("dcFullFrames: %w", err)
		}
		p, err := chromedp.Run(bctx, chromedp.Evaluate[float64](`dcPeerFrame()`))
		if err != nil {
			return fmt.Errorf("peer frame: %w", err)
		}
		oursFull, peerFull = append(oursFull, o), append(peerFull, p)
	}
	fmt.Printf("whole map (%d sub-cells, %d drawn by the peer after culling), %d frames each in turn: ours p50 %.1f p95 %.1f ms, peer (one fillRect per cell from JavaScript) p50 %.1f p95 %.1f ms: %.1fx faster at the median\n",
		*subs, int(peerCells), len(oursFull), benchstat.Pctl(oursFull, 0.5), benchstat.Pctl(oursFull, 0.95), benchstat.Pctl(peerFull, 0.5), benchstat.Pctl(peerFull, 0.95),
		benchstat.Pctl(peerFull, 0.5)/benchstat.Pctl(oursFull, 0.5))
	res, err := chromedp.Run(bctx, chromedp.Evaluate[string](fmt.Sprintf("dcBench(%d)", *frames), chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("dcBench: %w", err)
	}
	var b struct {
		Intervals []float64 `json:"intervals"`
		Render    []float64 `json:"render"`
		Raster    []float64 `json:"raster"`
		Copy      []float64 `json:"copy"`
		Overlay   []float64 `json:"overlay"`
	}
	if err := json.Unmarshal([]byte(res), &b); err != nil {
		return fmt.Errorf("decode bench result: %w", err)
	}
	if len(b.Intervals) == 0 {
		return fmt.Errorf("no frames measured")
	}
	p50, p95 := benchstat.Pctl(b.Intervals, 0.5), benchstat.Pctl(b.Intervals, 0.95)
	if *verbose {
		for i, v := range b.Intervals {
			fmt.Printf("frame %d interval %.1f render %.1f raster %.1f copy %.1f overlay %.1f\n", i, v, b.Render[i], b.Raster[i], b.Copy[i], b.Overlay[i])
		}
	}
	fmt.Printf("frames: %d over a scripted pan and zoom, %dx%d viewport\n", len(b.Intervals), *w, *h)
	fmt.Printf("frame interval (requestAnimationFrame to requestAnimationFrame): p50 %.1f ms, p95 %.1f ms, max %.1f ms (target p95 <= 33 ms)\n",
		p50, p95, benchstat.Pctl(b.Intervals, 1))
	fmt.Printf("draw time in the client (Go raster + copy + putImageData + labels): p50 %.1f ms, p95 %.1f ms\n",
		benchstat.Pctl(b.Render, 0.5), benchstat.Pctl(b.Render, 0.95))
	fmt.Printf("  of which raster p50 %.1f p95 %.1f ms, copy+putImageData p50 %.1f p95 %.1f ms, labels+thumbnails p50 %.1f p95 %.1f ms\n",
		benchstat.Pctl(b.Raster, 0.5), benchstat.Pctl(b.Raster, 0.95), benchstat.Pctl(b.Copy, 0.5), benchstat.Pctl(b.Copy, 0.95), benchstat.Pctl(b.Overlay, 0.5), benchstat.Pctl(b.Overlay, 0.95))
	// The photo wall: zoom to a large sub-cluster, let its thumbnails
	// arrive (batched), then the same scripted moves from there, drawing
	// the walls from cached thumbnails.
	var big int32
	_, sizes := a.Sizes()
	for z, n := range sizes {
		if n > sizes[big] {
			big = int32(z)
		}
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](fmt.Sprintf("dcZoomToSub(%d)", big))); err != nil {
		return fmt.Errorf("dcZoomToSub: %w", err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		st, err = e2e.State(bctx)
		if err == nil && !st.Animating && st.WallSub == big && st.WallDrawn == st.WallVisible && st.WallVisible > 0 && st.ThumbsInFlight == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the wall of sub-cluster %d never filled: %+v (%v)", big, st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Printf("photo wall of sub-cluster %d: %d images, %d tiles of %.0f px on screen, %d thumbnails in %d batches\n",
		big, st.WallImages, st.WallVisible, st.WallTile, st.ThumbsReceived, st.ThumbBatches)
	res, err = chromedp.Run(bctx, chromedp.Evaluate[string](fmt.Sprintf("dcBench(%d, true)", *frames), chromedp.EvalAwaitPromise))
	if err != nil {
		return fmt.Errorf("dcBench on the wall: %w", err)
	}
	var wb struct {
		Intervals []float64 `json:"intervals"`
		Render    []float64 `json:"render"`
		Tiles     int       `json:"wall_tiles_drawn"`
	}
	if err := json.Unmarshal([]byte(res), &wb); err != nil || len(wb.Intervals) == 0 {
		return fmt.Errorf("decode the wall's bench result %q: %v", res, err)
	}
	wp50, wp95 := benchstat.Pctl(wb.Intervals, 0.5), benchstat.Pctl(wb.Intervals, 0.95)
	fmt.Printf("from the photo wall: frame interval p50 %.1f ms, p95 %.1f ms; draw p50 %.1f ms, p95 %.1f ms; %.0f tiles drawn per frame\n",
		wp50, wp95, benchstat.Pctl(wb.Render, 0.5), benchstat.Pctl(wb.Render, 0.95), float64(wb.Tiles)/float64(len(wb.Intervals)))
	outMap := map[string]any{"frame_p50_ms": benchstat.Round1(p50), "frame_p95_ms": benchstat.Round1(p95), "images": *images, "subclusters": *subs,
		"wall_frame_p50_ms": benchstat.Round1(wp50), "wall_frame_p95_ms": benchstat.Round1(wp95),
		"full_frame_p50_ms": benchstat.Round1(benchstat.Pctl(oursFull, 0.5)), "full_frame_p95_ms": benchstat.Round1(benchstat.Pctl(oursFull, 0.95)),
		"peer_frame_p50_ms": benchstat.Round1(benchstat.Pctl(peerFull, 0.5)), "peer_frame_p95_ms": benchstat.Round1(benchstat.Pctl(peerFull, 0.95)),
		"peer_cells_drawn": int(peerCells), "load_avg_1m": benchstat.LoadAvg()}
	benchstat.Machine(0).AddTo(outMap)
	out, _ := json.Marshal(outMap)
	fmt.Println(string(out))
	return nil
}

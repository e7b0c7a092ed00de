// Package e2e drives the explorer's browser client in headless Chromium:
// helpers to start the browser and read the state the client exposes
// (window.dcState), a synthetic websocket server for the frame-time
// benchmark, and the browser test of the real server. They drive the
// client built with the dctest tag (TestClientDir): the shipped one has no
// such hooks.
package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/chromedp/chromedp"
)

// TestClientDir is where make wasm puts the client built with the dctest
// tag, which adds the JavaScript hooks this package and bench/ui read
// (window.dcState, dcBench, ...), beside copies of static/'s index.html,
// style.css and wasm_exec.js: a directory a plain file server can serve.
// It is relative to the repository root and git ignores it.
const TestClientDir = "e2e/testdata/static-dctest"

// ErrNoChromium is returned when no Chromium binary is found.
var ErrNoChromium = errors.New("chromium not found: install the Debian package chromium (make deps) or set CHROMIUM to its path")

// Chromium finds the browser: $CHROMIUM, then the usual names on PATH.
func Chromium() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("CHROMIUM=%s: %w", p, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// NewBrowser starts headless Chromium with a throw-away profile in
// userDataDir and returns a context for chromedp actions on one tab with a
// w x h viewport. cancel stops the browser.
func NewBrowser(parent context.Context, userDataDir string, w, h int) (ctx context.Context, cancel context.CancelFunc, err error) {
	path, err := Chromium()
	if err != nil {
		return nil, nil, err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.UserDataDir(userDataDir),
		chromedp.WindowSize(w, h),
	}
	actx, acancel := chromedp.NewExecAllocator(parent, opts...)
	tctx, tcancel := chromedp.NewContext(actx)
	cancel = func() { tcancel(); acancel() }
	if _, err := chromedp.Run(tctx, chromedp.EmulateViewport(int64(w), int64(h))); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("start chromium %s: %w", path, err)
	}
	return tctx, cancel, nil
}

// ClientState is what window.dcState() reports (a subset of its keys).
type ClientState struct {
	Connected        bool    `json:"connected"`
	Reconnects       int     `json:"reconnects"`
	Version          uint32  `json:"version"`
	VersionsReceived int     `json:"versions_received"`
	Mode             string  `json:"mode"`
	Phase            string  `json:"phase"`
	Images           int     `json:"images"`
	Supers           int     `json:"supers"`
	Subclusters      int     `json:"subclusters"`
	ClustersDrawn    int     `json:"clusters_drawn"`
	CellsDrawn       int     `json:"cells_drawn"`
	HighlightedDrawn int     `json:"highlighted_drawn"`
	SearchQuery      string  `json:"search_query"`
	SearchVersion    int     `json:"search_version"`
	SearchError      string  `json:"search_error"`
	Highlighted      []int32 `json:"highlighted"`
	Results          int     `json:"results"`
	Selected         int     `json:"selected"`
	Animating        bool    `json:"animating"`
	Frames           int     `json:"frames"`
	LastFrameMs      float64 `json:"last_frame_ms"`
	DecodeMs         float64 `json:"decode_ms"`
	LayoutMs         float64 `json:"layout_ms"`
	ReclusterBusy    bool    `json:"recluster_busy"`
	ReclusterMsg     string  `json:"recluster_msg"`
	LossPoints       int     `json:"loss_points"`
	MetricsPoints    int     `json:"metrics_points"`
	LabelPoints      int     `json:"label_points"`
	LastError        string  `json:"last_error"`
	CanvasW          int     `json:"canvas_w"`
	CanvasH          int     `json:"canvas_h"`

	// The search's split: hits that carry the tags (lift above 1), others.
	Carriers int `json:"carriers"`
	Rest     int `json:"rest"`
	// Notes are "sub=name" for every named cluster; Labels the texts on
	// the map's cells in the last frame.
	Notes  []string `json:"notes"`
	Labels []string `json:"labels"`
	// The largest photo wall on screen, and the thumbnails fetched.
	WallSub          int32   `json:"wall_sub"`
	WallImages       int     `json:"wall_images"`
	WallShown        int     `json:"wall_shown"`
	WallVisible      int     `json:"wall_visible"`
	WallDrawn        int     `json:"wall_drawn"`
	WallTile         float64 `json:"wall_tile"`
	WallX            float64 `json:"wall_x"`
	WallY            float64 `json:"wall_y"`
	WallFill         float64 `json:"wall_fill"`
	WallPx           int     `json:"wall_px"`
	Walls            int     `json:"walls"`
	ThumbBatches     int     `json:"thumb_batches"`
	ThumbsReceived   int     `json:"thumbs_received"`
	ThumbPxRequested int     `json:"thumb_px_requested"`
	ThumbsInFlight   int     `json:"thumbs_in_flight"`
	ThumbsWanted     bool    `json:"thumbs_wanted"`
	// The image view.
	Image        int32   `json:"image"`
	ImageShown   int32   `json:"image_shown"`
	ImageLoaded  int32   `json:"image_loaded"`
	ImageSuper   int32   `json:"image_super"`
	ImageSub     int32   `json:"image_sub"`
	SimilarOf    int32   `json:"similar_of"`
	Similar      []int32 `json:"similar"`
	SimilarError string  `json:"similar_error"`
	// The cluster panel.
	NoteMsg string   `json:"note_msg"`
	Figures []string `json:"figures"`
}

// State reads window.dcState().
func State(ctx context.Context) (ClientState, error) {
	var st ClientState
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.dcState ? window.dcState() : ""`))
	if err != nil {
		return st, fmt.Errorf("read dcState: %w", err)
	}
	if s == "" {
		return st, errors.New("read dcState: the client has not started")
	}
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return st, fmt.Errorf("decode dcState %q: %w", s, err)
	}
	return st, nil
}

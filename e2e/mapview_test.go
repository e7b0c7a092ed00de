package e2e

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/internal/citest"
)

// mapState is the part of dcState() the map and flow views report.
type mapState struct {
	Version          uint32   `json:"version"`
	Images           int      `json:"images"`
	Selected         int32    `json:"selected"`
	View             string   `json:"view"`
	WebGL            bool     `json:"map_webgl"`
	LayoutVersion    uint32   `json:"map_layout_version"`
	LayoutFinal      bool     `json:"map_layout_final"`
	Points           int      `json:"map_points"`
	PointsDrawn      int      `json:"map_points_drawn"`
	Highlighted      int      `json:"map_highlighted"`
	Frames           int      `json:"map_frames"`
	LastFrameMs      float64  `json:"map_last_frame_ms"`
	Labels           []string `json:"map_labels"`
	LassoImages      int      `json:"lasso_images"`
	ExportBytes      int      `json:"export_bytes"`
	MapMsg           string   `json:"map_msg"`
	LastError        string   `json:"last_error"`
	FlowFrom         int      `json:"flow_from"`
	FlowTo           int      `json:"flow_to"`
	FlowImages       int      `json:"flow_images"`
	FlowLeftSum      int      `json:"flow_left_sum"`
	FlowRightSum     int      `json:"flow_right_sum"`
	FlowBands        int      `json:"flow_bands"`
	FlowSuper        bool     `json:"flow_super"`
	FlowError        string   `json:"flow_error"`
	FlowRightNames   []string `json:"flow_right_names"`
	VersionsReceived int      `json:"versions_received"`
}

func readMapState(ctx context.Context) (mapState, error) {
	var st mapState
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.dcState ? window.dcState() : ""`))
	if err != nil {
		return st, fmt.Errorf("read dcState: %w", err)
	}
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return st, fmt.Errorf("decode dcState %q: %w", s, err)
	}
	return st, nil
}

func pollMap(t *testing.T, ctx context.Context, what string, timeout time.Duration, cond func(mapState) bool) mapState {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var st mapState
	var err error
	for time.Now().Before(deadline) {
		st, err = readMapState(ctx)
		if err == nil && cond(st) {
			return st
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("waiting for %s: %+v (%v)", what, st, err)
	return st
}

// gridLayout places image i on a jittered grid, its cell chosen by its
// super-cluster (so clusters are regions, as a real layout makes them),
// far enough apart that no two points overlap on screen.
func gridLayout(a *deepercluster.Assignment) *deepercluster.Layout {
	n := len(a.Sub)
	l := &deepercluster.Layout{Version: a.Version, Final: true, X: make([]float32, n), Y: make([]float32, n)}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return int(a.Sub[x] - a.Sub[y]) })
	side := int(math.Ceil(math.Sqrt(float64(n))))
	for k, i := range order {
		l.X[i] = float32(k%side) * 10
		l.Y[i] = float32(k/side) * 10
	}
	return l
}

// screenPositions reads where the map view draws every image.
func screenPositions(t *testing.T, ctx context.Context) []float64 {
	t.Helper()
	xy, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`Array.from(dcMapScreen())`))
	if err != nil {
		t.Fatalf("dcMapScreen: %v", err)
	}
	return xy
}

// pointInPolygon is the even-odd rule, written again here so the test
// does not trust the client's.
func pointInPolygon(x, y float64, poly [][2]float64) bool {
	in := false
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		xi, yi, xj, yj := poly[i][0], poly[i][1], poly[j][0], poly[j][1]
		if (yi > y) != (yj > y) && x < (xj-xi)*(y-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

// TestBrowserMapAndFlow runs the real server and trainer with a layout
// published as the server's layout step does, and drives the map view in
// headless Chromium: every point drawn, a clicked point's cluster lit, a
// shift-drag lasso selecting exactly the points inside it and exporting
// exactly those ids through POST /api/export; then, after a reclustering,
// the flow view's columns both sum to the images of the two versions.
func TestBrowserMapAndFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network and runs a browser")
	}
	clientDir := needBrowser(t)
	params := deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: 4, K: 5, ReclusterEvery: 1000, PCADim: 8}
	const n = 1200
	s := startStack(t, n, params, clientDir)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	bctx, bcancel := openPage(t, ctx, s.url)
	defer bcancel()

	// The map view says what it waits for until the server's own layout
	// (computed in the background from the features of version 1) is
	// final; the test then publishes its own layout of the same images,
	// as the server's layout step does, with points that cannot overlap.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#view-map"))); err != nil {
		t.Fatal(err)
	}
	st := pollMap(t, bctx, "the map view waiting for a layout or showing one", 20*time.Second, func(st mapState) bool {
		return st.View == "map" && (st.MapMsg != "" || st.LayoutVersion >= 1)
	})
	t.Logf("map view on opening: %q, layout v%d", st.MapMsg, st.LayoutVersion)
	st = pollMap(t, bctx, "the server's own layout, final", 2*time.Minute, func(st mapState) bool {
		return st.LayoutVersion >= 1 && st.LayoutFinal && st.PointsDrawn == n && st.MapMsg == ""
	})
	t.Logf("the server's layout: %d points drawn, labels %v", st.PointsDrawn, st.Labels)

	a := s.run.Assignment()
	if err := s.srv.PublishLayout(gridLayout(a)); err != nil {
		t.Fatal(err)
	}
	frames := st.Frames
	st = pollMap(t, bctx, "the test's layout drawn", time.Minute, func(st mapState) bool {
		return st.Points == n && st.PointsDrawn == n && st.Frames > frames
	})
	t.Logf("map: webgl %v, %d points drawn, frame %.1f ms, labels %v", st.WebGL, st.PointsDrawn, st.LastFrameMs, st.Labels)

	// 1. Every point is on the canvas: with WebGL, count the pixels.
	var px struct {
		WebGL bool   `json:"webgl"`
		Non   int    `json:"non_background"`
		Lit   int    `json:"lit"`
		Color string `json:"lit_color"`
	}
	readPixels := func() {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string](`dcMapPixels()`))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(s), &px); err != nil {
			t.Fatal(err)
		}
	}
	readPixels()
	if px.WebGL {
		// Points are 2 px squares on a grid 10 world units apart: none
		// overlap, so at least one pixel per point differs from the
		// background.
		if px.Non < n {
			t.Fatalf("%d non-background pixels for %d points", px.Non, n)
		}
	} else {
		// The pixels below are counted only with WebGL: without it the
		// map's drawing goes unchecked, a missing test in CI.
		citest.Missing(t, "no WebGL in this Chromium (the canvas 2D fallback draws, and its pixels are not counted): run Chromium with SwiftShader (--use-angle=swiftshader)")
	}
	shot(t, bctx, "map-view.png")

	// 2. Click a point: its cluster is selected and lit.
	xy := screenPositions(t, bctx)
	target := 0
	for i := range n {
		if xy[2*i] > 50 && xy[2*i+1] > 50 {
			target = i
			break
		}
	}
	a = s.run.Assignment()
	wantSub := a.Sub[target]
	clickOn(t, bctx, "pointsov", xy[2*target], xy[2*target+1])
	_, sizes := a.Sizes()
	st = pollMap(t, bctx, "the clicked point's cluster selected", 10*time.Second, func(st mapState) bool {
		return st.Selected == wantSub && st.Highlighted == sizes[wantSub]
	})
	readPixels()
	if px.WebGL && (px.Lit < sizes[wantSub] || px.Lit >= px.Non) {
		t.Fatalf("the selected cluster (%d images, colour %s) lights %d of %d drawn pixels", sizes[wantSub], px.Color, px.Lit, px.Non)
	}
	t.Logf("selected sub-cluster %d: %d points lit, %d pixels of %s", wantSub, st.Highlighted, px.Lit, px.Color)

	// 3. Lasso: shift-drag a pentagon; the selection is exactly the points
	// inside it, and so is the export.
	w, h := 1280.0-320, 760.0 // about the map's part of the page
	poly := [][2]float64{{0.15 * w, 0.2 * h}, {0.55 * w, 0.1 * h}, {0.7 * w, 0.5 * h}, {0.4 * w, 0.8 * h}, {0.1 * w, 0.6 * h}}
	var path [][2]float64
	for i := range poly {
		p, q := poly[i], poly[(i+1)%len(poly)]
		for k := 0; k < 8; k++ {
			f := float64(k) / 8
			// Whole pixels: the page's offsetX/offsetY are.
			path = append(path, [2]float64{math.Round(p[0] + f*(q[0]-p[0])), math.Round(p[1] + f*(q[1]-p[1]))})
		}
	}
	lassoDrag(t, bctx, "pointsov", path)
	xy = screenPositions(t, bctx)
	var want []int32
	for i := range n {
		if pointInPolygon(xy[2*i], xy[2*i+1], path) {
			want = append(want, int32(i))
		}
	}
	if len(want) < 50 || len(want) > n-50 {
		t.Fatalf("the lasso holds %d of %d points: pick another polygon", len(want), n)
	}
	st = pollMap(t, bctx, "the lasso's selection", 10*time.Second, func(st mapState) bool { return st.LassoImages > 0 })
	ids, err := chromedp.Run(bctx, chromedp.Evaluate[string](`dcLassoIDs()`))
	if err != nil {
		t.Fatal(err)
	}
	var sel struct {
		IDs []int32 `json:"ids"`
	}
	if err := json.Unmarshal([]byte(ids), &sel); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sel.IDs, want) {
		t.Fatalf("lasso selected %d images, the polygon holds %d (first %v vs %v)", len(sel.IDs), len(want), head(sel.IDs), head(want))
	}
	shot(t, bctx, "map-lasso.png")
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#lasso-csv"))); err != nil {
		t.Fatal(err)
	}
	pollMap(t, bctx, "the export", 20*time.Second, func(st mapState) bool { return st.ExportBytes > 0 })
	body, err := chromedp.Run(bctx, chromedp.Evaluate[string](`dcExported()`))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v\n%s", err, body)
	}
	if len(rows) < 1 || rows[0][0] != "id" {
		t.Fatalf("export header %v", rows[:min(1, len(rows))])
	}
	var got []int32
	for _, r := range rows[1:] {
		id, err := strconv.Atoi(r[0])
		if err != nil {
			t.Fatalf("export row %v: %v", r, err)
		}
		got = append(got, int32(id))
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("export holds %d ids, the lasso %d (first %v vs %v)", len(got), len(want), head(got), head(want))
	}
	t.Logf("lasso: %d images selected and exported", len(got))

	// 4. The flow view after a reclustering: both columns sum to the
	// images of the two versions.
	if code, body := post(t, s.url+"/api/recluster", `{"m":3,"k":4}`); code != 202 && code != 200 {
		t.Fatalf("recluster: %d %s", code, body)
	}
	pollMap(t, bctx, "the second version", 3*time.Minute, func(st mapState) bool { return st.Version >= 2 })
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#view-flow"))); err != nil {
		t.Fatal(err)
	}
	st = pollMap(t, bctx, "the flow of the last two versions", 30*time.Second, func(st mapState) bool {
		return st.FlowTo >= 2 && st.FlowBands > 0
	})
	if st.FlowFrom != st.FlowTo-1 || st.FlowImages != n || st.FlowLeftSum != n || st.FlowRightSum != n {
		t.Fatalf("flow v%d -> v%d: %d images, columns sum to %d and %d; want %d each", st.FlowFrom, st.FlowTo, st.FlowImages, st.FlowLeftSum, st.FlowRightSum, n)
	}
	t.Logf("flow v%d -> v%d: %d bands, %d images each side", st.FlowFrom, st.FlowTo, st.FlowBands, st.FlowLeftSum)
	// The current version's clusters carry the treemap's names (keyword or
	// top tag, "#..."), not their ids ("c37"), once the summaries are in.
	st = pollMap(t, bctx, "the flow's names as the treemap's", 20*time.Second, func(st mapState) bool {
		if len(st.FlowRightNames) == 0 {
			return false
		}
		for _, nm := range st.FlowRightNames {
			if !strings.HasPrefix(nm, "#") {
				return false
			}
		}
		return true
	})
	shot(t, bctx, "flow-view.png")
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#flow-super"))); err != nil {
		t.Fatal(err)
	}
	st = pollMap(t, bctx, "the flow of super-clusters", 10*time.Second, func(st mapState) bool { return st.FlowSuper })
	if st.FlowLeftSum != n || st.FlowRightSum != n || st.FlowBands == 0 {
		t.Fatalf("super-cluster flow: columns sum to %d and %d, %d bands; want %d each", st.FlowLeftSum, st.FlowRightSum, st.FlowBands, n)
	}
	if st.LastError != "" {
		t.Fatalf("client error: %s", st.LastError)
	}
}

func head(v []int32) []int32 { return v[:min(8, len(v))] }

// canvasOrigin is the page position of an element's top-left corner.
func canvasOrigin(t *testing.T, ctx context.Context, id string) (float64, float64) {
	t.Helper()
	r, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](
		fmt.Sprintf(`(() => { const r = document.getElementById(%q).getBoundingClientRect(); return [r.left, r.top]; })()`, id)))
	if err != nil {
		t.Fatal(err)
	}
	return r[0], r[1]
}

// clickOn clicks element id at (x, y) of its own pixels.
func clickOn(t *testing.T, ctx context.Context, id string, x, y float64) {
	t.Helper()
	ox, oy := canvasOrigin(t, ctx, id)
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(ox+x, oy+y)); err != nil {
		t.Fatal(err)
	}
}

// lassoDrag presses the left button with shift at path[0], moves through
// the path and releases at its start, as a user drawing a lasso does.
func lassoDrag(t *testing.T, ctx context.Context, id string, path [][2]float64) {
	t.Helper()
	ox, oy := canvasOrigin(t, ctx, id)
	held := func(p *input.DispatchMouseEventParams) { p.Buttons = 1 }
	shift := chromedp.ButtonModifiers(chromedp.ModifierShift)
	ev := func(typ input.DispatchMouseEventType, p [2]float64) chromedp.Action[chromedp.Void] {
		return chromedp.MouseEvent(typ, ox+p[0], oy+p[1], chromedp.ButtonLeft, shift, held, chromedp.ClickCount(1))
	}
	acts := []chromedp.Action[chromedp.Void]{ev(input.DispatchMouseEventTypeMousePressed, path[0])}
	for _, p := range path[1:] {
		acts = append(acts, ev(input.DispatchMouseEventTypeMouseMoved, p))
	}
	acts = append(acts, ev(input.DispatchMouseEventTypeMouseReleased, path[len(path)-1]))
	if err := chromedp.Do(ctx, acts...); err != nil {
		t.Fatal(err)
	}
}

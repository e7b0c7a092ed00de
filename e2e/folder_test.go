package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wasm/ui"
)

// TestBrowserFolderPhotos ingests a folder of generated 320x240 photos,
// trains on it and opens the page: clicking a cluster shows its images
// from their display copies (128 px here), not at model resolution.
func TestBrowserFolderPhotos(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network and runs a browser")
	}
	clientDir := needBrowser(t)
	ds, _ := photoDataset(t, 48, 320, 240, 128)
	params := deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: 2, K: 3, ReclusterEvery: 1000, PCADim: 8}
	s := startStackOn(t, ds, params, clientDir)

	bctx := browsePage(t, s.url+"/", 3*time.Minute, 1280, 800)
	pollState(t, bctx, "the first assignment drawn", 2*time.Minute, func(st ClientState) bool {
		return st.Connected && st.Version >= 1 && st.ClustersDrawn > 0 && !st.Animating
	})
	// Click the map a third of the way in: a sub-cluster's cell.
	xy, err := chromedp.Run(bctx, chromedp.Evaluate[[]float64](
		`(() => { const r = document.querySelector("canvas").getBoundingClientRect(); return [r.left + r.width/3, r.top + r.height/3]; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.MouseClickXY(xy[0], xy[1])); err != nil {
		t.Fatal(err)
	}
	pollState(t, bctx, "a sub-cluster selected", 30*time.Second, func(st ClientState) bool { return st.Selected >= 0 })
	// The detail panel's images: loaded, and as large as the display
	// copies (320x240 shrunk to 128x96), where the model sees 16x16.
	sizes, err := chromedp.Run(bctx, chromedp.Poll[[][]int](
		`(() => { const l = [...document.querySelectorAll(".grid img")]; if (!l.length || l.some(i => !i.complete)) return null; return l.map(i => [i.naturalWidth, i.naturalHeight]); })()`,
		chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		t.Fatalf("detail images: %v", err)
	}
	for _, wh := range sizes {
		if wh[0] != 128 || wh[1] != 96 {
			t.Errorf("a detail image is %dx%d, want the 128x96 display copy", wh[0], wh[1])
		}
	}
	t.Logf("%d detail images, all 128x96", len(sizes))
	screenshot(t, bctx, "folder-photos.png")

	// The photo wall of a zoomed cell: its tiles are far larger than the
	// model's 16 px, so it asks for (and draws) the display copies at the
	// tile's size, up to their 128 px, never the 16 px training images.
	cur, err := State(bctx)
	if err != nil {
		t.Fatal(err)
	}
	sel := cur.Selected
	if ok, err := chromedp.Run(bctx, chromedp.Evaluate[bool](fmt.Sprintf("dcZoomToSub(%d)", sel))); err != nil || !ok {
		t.Fatalf("zoom to sub-cluster %d: %v %v", sel, ok, err)
	}
	st := pollState(t, bctx, "the wall of the zoomed cell drawn", time.Minute, func(st ClientState) bool {
		return !st.Animating && st.WallSub == int32(sel) && st.WallShown > 0 && st.WallDrawn == st.WallShown && st.ThumbsInFlight == 0
	})
	t.Logf("wall: %d images in %.1f px tiles, thumbnails of %d px (asked %d)", st.WallShown, st.WallTile, st.WallPx, st.ThumbPxRequested)
	if want := ui.ThumbPx(st.WallTile, 128); st.WallTile <= 24 || st.WallPx != want || st.ThumbPxRequested != want {
		t.Fatalf("wall tiles of %.1f px drawn from %d px thumbnails (asked %d), want %d from the display copies", st.WallTile, st.WallPx, st.ThumbPxRequested, want)
	}
	if st.LastError != "" {
		t.Fatalf("client error: %s", st.LastError)
	}
	screenshot(t, bctx, "folder-wall.png")
}

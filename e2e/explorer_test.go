package e2e

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wire"
)

// shot saves a screenshot of the viewport under $TEST_ARTIFACTS (or the
// temp directory). Unlike a full-page capture it does not resize the
// viewport, which would lay the map out again and lose the zoom.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	p := artifactPath(t, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	t.Logf("screenshot saved: %s (%d bytes)", p, len(png))
}

// newPage opens Chromium at w x h under ctx and navigates to url; the
// returned func closes the browser.
func newPage(t *testing.T, ctx context.Context, url string, w, h int) (context.Context, func()) {
	t.Helper()
	bctx, bcancel, err := NewBrowser(ctx, t.TempDir(), w, h)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(url)); err != nil {
		bcancel()
		t.Fatal(err)
	}
	return bctx, bcancel
}

// browsePage is newPage under a timeout of its own, closed when the test
// ends and before the servers the test started earlier (t.Cleanup runs
// the last registered first).
func browsePage(t *testing.T, url string, timeout time.Duration, w, h int) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	bctx, bcancel := newPage(t, ctx, url, w, h)
	t.Cleanup(func() { bcancel(); cancel() })
	return bctx
}

// openPage starts a browser on url and waits for the first version drawn.
func openPage(t *testing.T, ctx context.Context, url string) (context.Context, func()) {
	t.Helper()
	bctx, bcancel := newPage(t, ctx, url+"/", 1280, 800)
	pollState(t, bctx, "the first assignment drawn", 2*time.Minute, func(st ClientState) bool {
		return st.Connected && st.Version >= 1 && st.ClustersDrawn > 0 && !st.Animating
	})
	return bctx, bcancel
}

// clickCanvas clicks the map at (x, y) in canvas pixels.
func clickCanvas(t *testing.T, ctx context.Context, x, y float64) {
	t.Helper()
	r, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](
		`(() => { const r = document.getElementById("map").getBoundingClientRect(); return [r.left, r.top]; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.MouseClickXY(r[0]+x, r[1]+y)); err != nil {
		t.Fatal(err)
	}
}

func key(t *testing.T, ctx context.Context, k string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.KeyEvent(k)); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserWallImageNotes runs the real server with real training and
// drives the page in headless Chromium through what a user does with the
// images: a zoomed cell fills with its photos (fetched in batches), a
// click opens one in the image view, its similar images load and open in
// turn, the keyboard moves between clusters, and a note written on a
// cluster names it on the map and survives a restart of the server and a
// reclustering.
func TestBrowserWallImageNotes(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network and runs a browser")
	}
	clientDir := needBrowser(t)
	dir := t.TempDir()
	params := deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: 4, K: 6, ReclusterEvery: 1000, PCADim: 8}
	s := startStackIn(t, dir, 2000, 1000, params, clientDir)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	bctx, bcancel := openPage(t, ctx, s.url)
	defer func() { bcancel() }()

	// 1. The photo wall: zoom to the largest sub-cluster; its cell fills
	// with all its images, drawn from thumbnails that came in batches at
	// no more than the dataset's resolution.
	a := s.run.Assignment()
	_, sizes := a.Sizes()
	z := int32(0)
	for j, n := range sizes {
		if n > sizes[z] {
			z = int32(j)
		}
	}
	ok, err := chromedp.Run(bctx, chromedp.Evaluate[bool](fmt.Sprintf("dcZoomToSub(%d)", z)))
	if err != nil || !ok {
		t.Fatalf("zoom to sub-cluster %d: %v %v", z, ok, err)
	}
	st := pollState(t, bctx, "the wall of the zoomed cell drawn", time.Minute, func(st ClientState) bool {
		return !st.Animating && st.WallSub == z && st.WallShown > 0 && st.WallDrawn == st.WallShown && st.ThumbsInFlight == 0
	})
	t.Logf("wall: %d images, %d shown in %.1f px tiles, %d drawn, fill %.2f, %d batches, %d thumbnails received, px %d",
		st.WallImages, st.WallShown, st.WallTile, st.WallDrawn, st.WallFill, st.ThumbBatches, st.ThumbsReceived, st.WallPx)
	if st.WallImages != sizes[z] || st.WallShown != sizes[z] {
		t.Fatalf("wall of sub-cluster %d shows %d of %d images (state says %d)", z, st.WallShown, sizes[z], st.WallImages)
	}
	if st.WallFill < 0.5 {
		t.Fatalf("the wall covers %.0f%% of its cell", 100*st.WallFill)
	}
	if st.ThumbBatches == 0 || st.ThumbBatches*4 > st.ThumbsReceived {
		t.Fatalf("%d thumbnails in %d requests: not batched", st.ThumbsReceived, st.ThumbBatches)
	}
	if res := s.ds.Resolution(); st.WallPx > res || st.ThumbPxRequested > res || st.WallPx < 1 {
		t.Fatalf("thumbnails of %d px (asked %d) for a dataset of %d px", st.WallPx, st.ThumbPxRequested, res)
	}
	if st.LastError != "" {
		t.Fatalf("client error: %s", st.LastError)
	}
	// The canvas shows the first image's own pixels in its tile: the
	// pixel at the tile's centre is the thumbnail's pixel there, as the
	// server's batch has it.
	members := []int32{}
	for i, sz := range a.Sub {
		if sz == z {
			members = append(members, int32(i))
		}
	}
	tile := st.WallTile
	x0, y0 := int(math.Round(st.WallX)), int(math.Round(st.WallY))
	cx, cy := x0+int(tile)/2, y0+int(tile)/3
	rgb, err := chromedp.Run(bctx, chromedp.Evaluate[[]int](fmt.Sprintf(
		`Array.from(document.getElementById("map").getContext("2d").getImageData(%d, %d, 1, 1).data.slice(0, 3))`, cx, cy)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(fmt.Sprintf("%s/api/thumbs?ids=%d&px=%d", s.url, members[0], st.WallPx))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	batch, err := wire.DecodeThumbBatch(raw)
	if err != nil {
		t.Fatal(err)
	}
	size := int(tile) - 1 // a one-pixel gap between tiles
	sx, sy := (cx-x0)*batch.Px/size, (cy-y0)*batch.Px/size
	o := (sy*batch.Px + sx) * 3
	thumbRGB := batch.Thumb(0)[o : o+3]
	if rgb[0] != int(thumbRGB[0]) || rgb[1] != int(thumbRGB[1]) || rgb[2] != int(thumbRGB[2]) {
		t.Fatalf("the wall shows %v at (%d,%d), image %d's thumbnail has %v there", rgb, cx, cy, members[0], thumbRGB)
	}
	shot(t, bctx, "wall.png")

	// 2. The image view: a click on the first tile opens its image.
	st = pollState(t, bctx, "the wall still on screen", 10*time.Second, func(st ClientState) bool {
		return !st.Animating && st.WallSub == z && st.WallTile == tile
	})
	clickCanvas(t, bctx, st.WallX+tile/2, st.WallY+tile/2)
	first := members[0]
	st = pollState(t, bctx, "the image view of the first tile", 30*time.Second, func(st ClientState) bool {
		return st.ImageShown == first && st.ImageLoaded == first
	})
	if st.Image != first || st.Selected != int(z) || st.ImageSub != z || st.ImageSuper != a.SubParent[z] {
		t.Fatalf("image view of %d: state %+v; want sub-cluster %d of super %d", first, st, z, a.SubParent[z])
	}
	info, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("imageview").hidden ? "" : document.getElementById("imageview").innerText`))
	if err != nil || !strings.Contains(info, "user tags") || !strings.Contains(info, "autotags") || !strings.Contains(info, fmt.Sprintf("sub-cluster %d", z)) {
		t.Fatalf("image view text %q (%v)", info, err)
	}
	if _, labelled := s.ds.Label(int(first)); labelled && !strings.Contains(info, "label") {
		t.Fatalf("image view lacks the label: %q", info)
	}
	for _, tg := range s.ds.Meta(int(first)).Tags {
		if !strings.Contains(info, "#"+tg) {
			t.Fatalf("image view lacks the tag #%s: %q", tg, info)
		}
	}

	// 3. Similar images: the view lists what the API answers, nearest
	// first; clicking one opens it, and its own similar images load.
	st = pollState(t, bctx, "similar images", 30*time.Second, func(st ClientState) bool {
		return st.SimilarOf == first && len(st.Similar) > 0 || st.SimilarError != ""
	})
	var sim struct {
		Images []struct {
			ID       int32   `json:"id"`
			Distance float64 `json:"distance"`
		} `json:"images"`
	}
	if code := s.getJSON(t, fmt.Sprintf("/api/images/%d/similar?k=12", first), &sim); code != http.StatusOK {
		t.Fatalf("similar: HTTP %d", code)
	}
	var apiIDs []int32
	for _, im := range sim.Images {
		apiIDs = append(apiIDs, im.ID)
	}
	if st.SimilarError != "" || !slices.Equal(st.Similar, apiIDs) || len(apiIDs) != 12 {
		t.Fatalf("the page lists %v (error %q), the API %v", st.Similar, st.SimilarError, apiIDs)
	}
	n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#iv-similar figure img").length`))
	if err != nil || n != 12 {
		t.Fatalf("%d similar images shown (%v)", n, err)
	}
	shot(t, bctx, "image-view.png")
	next := st.Similar[2]
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#iv-similar figure:nth-child(3) img"))); err != nil {
		t.Fatal(err)
	}
	st = pollState(t, bctx, "the clicked similar image opened", 30*time.Second, func(st ClientState) bool {
		return st.ImageShown == next && st.ImageLoaded == next && st.SimilarOf == next && len(st.Similar) == 12
	})
	if slices.Contains(st.Similar, next) {
		t.Fatalf("image %d lists itself as similar: %v", next, st.Similar)
	}

	// 4. Keyboard: Escape closes the view; the arrows move to a sibling
	// sub-cluster of the same super-cluster; "/" focuses the search.
	key(t, bctx, kb.Escape)
	st = pollState(t, bctx, "the image view closed", 10*time.Second, func(st ClientState) bool { return st.Image == -1 })
	if st.Selected != int(z) {
		t.Fatalf("Escape closed the view and the selection: selected %d", st.Selected)
	}
	if err := chromedp.Do(bctx, chromedp.Focus(chromedp.CSS("#map"))); err != nil {
		t.Fatal(err)
	}
	key(t, bctx, kb.ArrowRight)
	st = pollState(t, bctx, "a sibling selected", 10*time.Second, func(st ClientState) bool { return st.Selected != int(z) })
	if a.SubParent[st.Selected] != a.SubParent[z] {
		t.Fatalf("ArrowRight went from sub-cluster %d (super %d) to %d (super %d)", z, a.SubParent[z], st.Selected, a.SubParent[st.Selected])
	}
	key(t, bctx, kb.ArrowLeft)
	pollState(t, bctx, "back to the cluster", 10*time.Second, func(st ClientState) bool { return st.Selected == int(z) })
	key(t, bctx, "/")
	if focus, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.activeElement.id`)); err != nil || focus != "q" {
		t.Fatalf("after /, focus on %q (%v)", focus, err)
	}
	key(t, bctx, kb.Escape) // leaves the box: the selection stays
	if err := chromedp.Do(bctx, chromedp.Focus(chromedp.CSS("#map"))); err != nil {
		t.Fatal(err)
	}
	key(t, bctx, kb.Enter)
	pollState(t, bctx, "Enter zooms to the cluster", 10*time.Second, func(st ClientState) bool {
		return !st.Animating && st.WallSub == z && st.Selected == int(z)
	})

	// A photo in the cluster panel opens the image view too.
	gridID, err := chromedp.Run(bctx, chromedp.Poll[string](
		`(() => { const i = document.querySelector("#clustergrid img[data-id]"); return i && !document.getElementById("clusterbox").hidden ? i.dataset.id : null; })()`,
		chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		t.Fatalf("the cluster panel lists no photo: %v", err)
	}
	gid, _ := strconv.Atoi(gridID)
	if a.Sub[gid] != z {
		t.Fatalf("the panel of sub-cluster %d lists image %d of sub-cluster %d", z, gid, a.Sub[gid])
	}
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#clustergrid img[data-id]"))); err != nil {
		t.Fatal(err)
	}
	pollState(t, bctx, "the image view of the panel's photo", 30*time.Second, func(st ClientState) bool {
		return st.ImageShown == int32(gid) && st.ImageLoaded == int32(gid) && st.ImageSub == z
	})
	key(t, bctx, kb.Escape)
	pollState(t, bctx, "the image view closed", 10*time.Second, func(st ClientState) bool { return st.Image == -1 })

	// 5. A note: name the cluster, mark it good, add a line. It names the
	// cell on the map and shows in /api/clusters and the export.
	if err := chromedp.Do(bctx,
		chromedp.SetValue(chromedp.CSS("#note-name"), "harbour boats"),
		chromedp.SetValue(chromedp.CSS("#note-verdict"), "good"),
		chromedp.SetValue(chromedp.CSS("#note-text"), "boats in harbours, some at dusk"),
		chromedp.Click(chromedp.CSS("#note-save"))); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d=harbour boats", z)
	st = pollState(t, bctx, "the note saved and shown", 20*time.Second, func(st ClientState) bool {
		return strings.HasPrefix(st.NoteMsg, "saved") && slices.Contains(st.Notes, want) && hasLabel(st.Labels, "harbour boats ✓")
	})
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#resetview"))); err != nil {
		t.Fatal(err)
	}
	st = pollState(t, bctx, "the name on the whole map", 20*time.Second, func(st ClientState) bool {
		return !st.Animating && hasLabel(st.Labels, "harbour boats ✓")
	})
	shot(t, bctx, "named-cluster.png")
	checkNote(t, s, z, "harbour boats", "good")

	// 6. A restart: a new server on the same directory; the page shows
	// the note on the same cluster.
	bcancel()
	s.stop()
	s = startStackIn(t, dir, 2000, 1000, params, clientDir)
	bctx, bcancel = openPage(t, ctx, s.url)
	st = pollState(t, bctx, "the note after a restart", time.Minute, func(st ClientState) bool {
		return slices.Contains(st.Notes, want) && hasLabel(st.Labels, "harbour boats ✓")
	})
	checkNote(t, s, z, "harbour boats", "good")

	// 7. A reclustering with other parameters: the note moves to the
	// cluster that holds most of its images.
	before := s.run.Assignment()
	code, body := post(t, s.url+"/api/recluster", `{"m":3,"k":5}`)
	if code != http.StatusAccepted {
		t.Fatalf("recluster: %d %s", code, body)
	}
	st = pollState(t, bctx, "the new version", 2*time.Minute, func(st ClientState) bool {
		return st.Version > before.Version && st.Subclusters == 15 && !st.Animating
	})
	after := s.run.Assignment()
	if after.Version != st.Version {
		t.Fatalf("page at version %d, trainer at %d", st.Version, after.Version)
	}
	counts := map[int32]int{}
	for i, old := range before.Sub {
		if old == z {
			counts[after.Sub[i]]++
		}
	}
	home := int32(-1)
	for nz, c := range counts {
		if home < 0 || c > counts[home] || c == counts[home] && nz < home {
			home = nz
		}
	}
	want = fmt.Sprintf("%d=harbour boats", home)
	st = pollState(t, bctx, "the note on its cluster's new id", 30*time.Second, func(st ClientState) bool {
		return slices.Contains(st.Notes, want) && len(st.Notes) == 1
	})
	checkNote(t, s, home, "harbour boats", "good")
	t.Logf("the note moved from sub-cluster %d to %d (%d of its %d images)", z, home, counts[home], sizes[z])
	// It says how its cluster changed, from the contingency of the two
	// versions: split where another new cluster took a fifth of its
	// images or none kept half, merged where a former cluster sent a
	// fifth of its own.
	var wantSplit, wantMerged []int32
	for nz, c := range counts {
		if nz != home && 5*c >= sizes[z] {
			wantSplit = append(wantSplit, nz)
		}
	}
	into := map[int32]int{}
	for i, old := range before.Sub {
		if after.Sub[i] == home && old != z {
			into[old]++
		}
	}
	for old, c := range into {
		if 5*c >= sizes[old] {
			wantMerged = append(wantMerged, old)
		}
	}
	slices.Sort(wantSplit)
	slices.Sort(wantMerged)
	var notes struct {
		Notes []struct {
			Sub     int32   `json:"sub"`
			Lineage string  `json:"lineage"`
			Split   []int32 `json:"split"`
			Merged  []int32 `json:"merged"`
		} `json:"notes"`
	}
	s.getJSON(t, "/api/notes", &notes)
	if len(notes.Notes) != 1 {
		t.Fatalf("/api/notes: %+v", notes)
	}
	nt := notes.Notes[0]
	split := len(wantSplit) > 0 || 2*counts[home] < sizes[z]
	if !slices.Equal(nt.Split, wantSplit) || !slices.Equal(nt.Merged, wantMerged) ||
		split != strings.Contains(nt.Lineage, "split") || (len(wantMerged) > 0) != strings.Contains(nt.Lineage, "merged") {
		t.Fatalf("note after the reclustering: %+v; want split %v (%v), merged %v", nt, split, wantSplit, wantMerged)
	}
	t.Logf("lineage: %s", nt.Lineage)
	// The cluster panel of its new cluster shows it.
	if ok, err := chromedp.Run(bctx, chromedp.Evaluate[bool](fmt.Sprintf("dcZoomToSub(%d)", home))); err != nil || !ok {
		t.Fatalf("zoom to %d: %v", home, err)
	}
	// The zoom centres the cell, so its middle is the screen's. (Not
	// st.WallSub: that is the largest wall on screen, and the
	// reclustering can leave the note's cluster a thin cell whose
	// neighbours, above and below, show more of their walls.)
	st = pollState(t, bctx, "zoomed to the note's cluster", 20*time.Second, func(st ClientState) bool { return !st.Animating })
	// A click in the middle of the zoomed cell selects it (and may open
	// the photo there, which Escape closes).
	clickCanvas(t, bctx, float64(st.CanvasW)/2, float64(st.CanvasH)/2)
	pollState(t, bctx, "the note's cluster selected", 10*time.Second, func(st ClientState) bool { return st.Selected == int(home) })
	key(t, bctx, kb.Escape)
	if nt.Lineage != "" {
		if _, err := chromedp.Run(bctx, chromedp.Poll[chromedp.Void](fmt.Sprintf(
			`document.getElementById("note-lineage").textContent === %q && document.getElementById("note-name").value === "harbour boats"`, nt.Lineage),
			chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			t.Fatalf("the cluster panel of sub-cluster %d does not show the note's lineage %q: %v", home, nt.Lineage, err)
		}
	}
	shot(t, bctx, "named-cluster-after-recluster.png")
	if st.LastError != "" {
		t.Fatalf("client error: %s", st.LastError)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.json")); err != nil {
		t.Fatal(err)
	}
}

func hasLabel(labels []string, prefix string) bool {
	for _, l := range labels {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func post(t *testing.T, u, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

// checkNote reads the note of sub-cluster z from /api/clusters and the CSV
// export.
func checkNote(t *testing.T, s *stack, z int32, name, verdict string) {
	t.Helper()
	var cl struct {
		Supers []struct {
			Subs []struct {
				Sub  int32 `json:"sub"`
				Note *struct {
					Name    string `json:"name"`
					Verdict string `json:"verdict"`
				} `json:"note"`
			} `json:"subs"`
		} `json:"supers"`
	}
	s.getJSON(t, "/api/clusters", &cl)
	found := false
	for _, sp := range cl.Supers {
		for _, sb := range sp.Subs {
			if sb.Note != nil {
				if sb.Sub != z || sb.Note.Name != name || sb.Note.Verdict != verdict {
					t.Fatalf("/api/clusters: note %+v on sub-cluster %d, want %q (%s) on %d", *sb.Note, sb.Sub, name, verdict, z)
				}
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("/api/clusters has no note on sub-cluster %d", z)
	}
	resp, err := http.Get(s.url + "/api/export?format=csv")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	named := 0
	for _, r := range rows[1:] {
		sub, _ := strconv.Atoi(r[2])
		if (int32(sub) == z) != (r[4] == name) || r[4] == name && r[5] != verdict {
			t.Fatalf("export row %v: sub-cluster %d, note %q %q", r, sub, r[4], r[5])
		}
		if r[4] == name {
			named++
		}
	}
	if named == 0 {
		t.Fatal("the export names no image's cluster")
	}
}

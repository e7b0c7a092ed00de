package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset"
	"github.com/deepercluster/deepercluster/dataset/folder"
	"github.com/deepercluster/deepercluster/dataset/synthetic"
)

// photoDataset writes n generated w x h photos (one folder per scene kind)
// and ingests them at 16 px with display copies of thumbPx, as
// `serve --dataset DIR` does.
func photoDataset(t *testing.T, n, w, h, thumbPx int) (deepercluster.Dataset, string) {
	t.Helper()
	root := t.TempDir()
	photos := filepath.Join(root, "photos")
	for i := range n {
		kind := i % len(synthetic.SceneKinds)
		p := filepath.Join(photos, synthetic.SceneKinds[kind], fmt.Sprintf("%03d.jpg", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, synthetic.ScenePhoto(kind, uint64(i), w, h), nil); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(root, "ds")
	if _, err := folder.Ingest(context.Background(), folder.Config{Images: photos, Out: out, Size: 16, ThumbPx: thumbPx}); err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.OpenDir(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds, photos
}

// reclusterFromPage fills the page's recluster form with m and k, sends
// it and waits for the version after v0 drawn with that shape.
func reclusterFromPage(t *testing.T, bctx context.Context, m, k int) ClientState {
	t.Helper()
	st, err := State(bctx)
	if err != nil {
		t.Fatal(err)
	}
	v0 := st.Version
	if err := chromedp.Do(bctx,
		chromedp.SetValue(chromedp.CSS("#rc-m"), fmt.Sprint(m)),
		chromedp.SetValue(chromedp.CSS("#rc-k"), fmt.Sprint(k)),
		chromedp.Click(chromedp.CSS("#rc-go"))); err != nil {
		t.Fatal(err)
	}
	st = pollState(t, bctx, fmt.Sprintf("a new version with m=%d k=%d", m, k), 2*time.Minute, func(st ClientState) bool {
		return st.Version > v0 && st.Supers == m && st.Subclusters == m*k && !st.Animating && !st.ReclusterBusy
	})
	if st.ClustersDrawn != st.Subclusters || st.LastError != "" || strings.Contains(st.ReclusterMsg, "without a new version") {
		t.Fatalf("after reclustering to m=%d k=%d: %+v", m, k, st)
	}
	return st
}

// TestBrowserReclusterAfterTraining: a folder of 96 photos with the
// default m and k (sub-clusters of a few dozen images, which the header
// says), trained for one short epoch; once training has ended, the page's
// recluster form still makes a new version with the new m and k, and the
// treemap, the header, the flow and the map follow it.
func TestBrowserReclusterAfterTraining(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network and runs a browser")
	}
	clientDir := needBrowser(t)
	ds, _ := photoDataset(t, 96, 96, 64, 64)
	m, k := deepercluster.PresetDeeperCluster.ShapeFor(ds.Len())
	if mean := float64(ds.Len()) / float64(m*k); mean < 20 || mean > 50 {
		t.Fatalf("defaults for %d images: m=%d k=%d, sub-clusters of %.1f images", ds.Len(), m, k, mean)
	}
	params := deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: m, K: k, ReclusterEvery: 3, PCADim: 8}
	s := startStackOnIn(t, t.TempDir(), ds, 1, params, clientDir)

	bctx := browsePage(t, s.url+"/", 3*time.Minute, 1280, 800)
	st := pollState(t, bctx, "training ended with the first version drawn", 2*time.Minute, func(st ClientState) bool {
		return st.Connected && st.Version >= 1 && st.Phase == string(deepercluster.PhaseStopped) && st.ClustersDrawn > 0 && !st.Animating
	})
	hdr, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById("runinfo").textContent`))
	if err != nil || !strings.Contains(hdr, fmt.Sprintf("m=%d k=%d", m, k)) || !strings.Contains(hdr, "default for 96 images") {
		t.Fatalf("header %q (%v): want m=%d k=%d named the default for 96 images", hdr, err, m, k)
	}
	// The form starts from the values in force.
	vals, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[document.getElementById("rc-m").value, document.getElementById("rc-k").value]`))
	if err != nil || vals[0] != fmt.Sprint(m) || vals[1] != fmt.Sprint(k) {
		t.Fatalf("recluster form starts at %v (%v), want m=%d k=%d", vals, err, m, k)
	}
	v0 := st.Version
	st = reclusterFromPage(t, bctx, 2, 3)
	t.Logf("after training: v%d -> v%d (m=2 k=3), phase %s, message %q", v0, st.Version, st.Phase, st.ReclusterMsg)
	if hdr, err := chromedp.Run(bctx, chromedp.Poll[string](`(() => { const t = document.getElementById("runinfo").textContent; return t.includes("m=2 k=3") ? t : null; })()`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil || !strings.Contains(hdr, "6 sub-clusters") {
		t.Fatalf("header after reclustering: %q (%v)", hdr, err)
	}
	followNewVersion(t, s, bctx, v0, st.Version)
	screenshot(t, bctx, "recluster-after-training.png")
}

// followNewVersion checks that the views follow version v: the flow from
// v0 to v counts every image, and the map gets v's final layout.
func followNewVersion(t *testing.T, s *stack, bctx context.Context, v0, v uint32) {
	t.Helper()
	var flow deepercluster.Flow
	if code := s.getJSON(t, fmt.Sprintf("/api/flow?from=%d&to=%d", v0, v), &flow); code != 200 {
		t.Fatalf("flow v%d -> v%d: %d", v0, v, code)
	}
	total := 0
	for _, l := range flow.Links {
		total += l.Count
	}
	if total != s.ds.Len() {
		t.Fatalf("flow v%d -> v%d carries %d images, want %d", v0, v, total, s.ds.Len())
	}
	ms := pollMap(t, bctx, fmt.Sprintf("the map's layout of v%d", v), time.Minute, func(ms mapState) bool {
		return ms.LayoutVersion == v && ms.LayoutFinal
	})
	if ms.LastError != "" {
		t.Fatalf("map after v%d: %+v", v, ms)
	}
}

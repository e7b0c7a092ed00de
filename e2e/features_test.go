package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/parquet-go/parquet-go"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset/embeddings"
	"github.com/deepercluster/deepercluster/dataset/synthetic"
	"github.com/deepercluster/deepercluster/trainer"
)

// TestBrowserExternalFeatures serves a folder of photos on embeddings
// from a Parquet file (as another model would write them: an id column
// and a list<float> column, rows in any order), as `serve --features`
// does: no training; the treemap, the map and similar images answer, and
// a recluster to other m and k from the page publishes a new version that
// the views follow.
func TestBrowserExternalFeatures(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a browser")
	}
	clientDir := needBrowser(t)
	ds, _ := photoDataset(t, 64, 96, 64, 64)
	n := ds.Len()
	// The embeddings: our own extractor's, written as Parquet.
	net, err := trainer.NewCPUBackend(trainer.BackendConfig{Batch: 8, LR: 0.05, Seed: 9,
		Model: trainer.ModelConfig{Resolution: 16, Width: 4, Depth: 2, ConvsPerStage: 1, Hidden: 24}})
	if err != nil {
		t.Fatal(err)
	}
	feats, err := trainer.ExtractFeatures(context.Background(), net, ds, nil)
	dim := net.FeatureDim()
	net.Close()
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID        string    `parquet:"id"`
		Embedding []float32 `parquet:"embedding,list"`
	}
	rows := make([]row, n)
	for i := range n {
		rows[i] = row{ds.Meta(i).PhotoID, feats[i*dim : (i+1)*dim]}
	}
	rand.New(rand.NewPCG(4, 5)).Shuffle(n, func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	path := filepath.Join(t.TempDir(), "embeddings.parquet")
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	m, err := embeddings.Load(context.Background(), path, ds, "")
	if err != nil {
		t.Fatal(err)
	}
	fixed := &trainer.FixedFeatures{N: m.N, Dim: m.Dim, Data: m.Data, Source: path}
	pm, pk := deepercluster.PresetDeeperCluster.ShapeFor(n)
	params := deepercluster.RunParams{Preset: deepercluster.PresetDeeperCluster, M: pm, K: pk, ReclusterEvery: 3, PCADim: 8}
	s := startStackFeatures(t, t.TempDir(), ds, 1, params, clientDir, fixed)

	bctx := browsePage(t, s.url+"/", 3*time.Minute, 1280, 800)
	// 1. The treemap of the first clustering.
	st := pollState(t, bctx, "the clustering of the file's features drawn", time.Minute, func(st ClientState) bool {
		return st.Connected && st.Version == 1 && st.Phase == string(deepercluster.PhaseStopped) &&
			st.Subclusters == pm*pk && st.ClustersDrawn == st.Subclusters && !st.Animating
	})
	if st.LossPoints != 0 || len(s.run.EpochSummaries()) != 0 {
		t.Fatalf("a run on features from a file trained: %d loss points, %d epochs", st.LossPoints, len(s.run.EpochSummaries()))
	}
	// 2. Similar images: open the first image of the largest cluster's
	// wall; the page lists what the API answers.
	_, sizes := s.run.Assignment().Sizes()
	z := int32(0)
	for j, c := range sizes {
		if c > sizes[z] {
			z = int32(j)
		}
	}
	if ok, err := chromedp.Run(bctx, chromedp.Evaluate[bool](fmt.Sprintf("dcZoomToSub(%d)", z))); err != nil || !ok {
		t.Fatalf("zoom to sub-cluster %d: %v %v", z, ok, err)
	}
	st = pollState(t, bctx, "the wall of the zoomed cell drawn", time.Minute, func(st ClientState) bool {
		return !st.Animating && st.WallSub == z && st.WallShown > 0 && st.WallDrawn == st.WallShown && st.ThumbsInFlight == 0
	})
	clickCanvas(t, bctx, st.WallX+st.WallTile/2, st.WallY+st.WallTile/2)
	st = pollState(t, bctx, "an image view with its similar images", 30*time.Second, func(st ClientState) bool {
		return st.ImageShown >= 0 && st.SimilarOf == st.ImageShown && (len(st.Similar) > 0 || st.SimilarError != "")
	})
	var sim struct {
		Images []struct {
			ID int32 `json:"id"`
		} `json:"images"`
	}
	if code := s.getJSON(t, fmt.Sprintf("/api/images/%d/similar?k=%d", st.ImageShown, len(st.Similar)), &sim); code != 200 {
		t.Fatalf("similar images of %d: HTTP %d", st.ImageShown, code)
	}
	var api []int32
	for _, im := range sim.Images {
		api = append(api, im.ID)
	}
	if st.SimilarError != "" || len(api) == 0 || !slices.Equal(st.Similar, api) {
		t.Fatalf("similar images of %d: the page lists %v (error %q), the API %v", st.ImageShown, st.Similar, st.SimilarError, api)
	}
	t.Logf("image %d: %d similar images, nearest %v", st.ImageShown, len(api), api[:min(4, len(api))])
	if err := chromedp.Do(bctx, chromedp.KeyEvent("\x1b")); err != nil {
		t.Fatal(err)
	}
	// The hashtag search answers on this clustering (the folders' names
	// are the photos' tags).
	tag := synthetic.SceneKinds[0]
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ans searchAnswer
		code := s.getJSON(t, "/api/search?limit=100&q="+tag, &ans)
		if code == 200 && ans.Result.Version == 1 && len(ans.Result.Subs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("search %q: HTTP %d, %+v", tag, code, ans.Result)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// 3. The map of every image.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#view-map"))); err != nil {
		t.Fatal(err)
	}
	ms := pollMap(t, bctx, "the map of the file's features", time.Minute, func(ms mapState) bool {
		return ms.View == "map" && ms.LayoutVersion == 1 && ms.LayoutFinal && ms.PointsDrawn == n
	})
	if ms.LastError != "" {
		t.Fatalf("map: %+v", ms)
	}
	screenshot(t, bctx, "features-map.png")
	// 4. A recluster to other m and k from the page: a new version, and
	// the views follow it.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#view-treemap"))); err != nil {
		t.Fatal(err)
	}
	st = reclusterFromPage(t, bctx, 2, 3)
	followNewVersion(t, s, bctx, 1, st.Version)
	if len(s.run.EpochSummaries()) != 0 {
		t.Fatal("the recluster trained")
	}
	screenshot(t, bctx, "features-recluster.png")
}

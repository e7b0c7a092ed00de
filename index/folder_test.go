package index

import (
	"bytes"
	"context"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset"
	"github.com/deepercluster/deepercluster/dataset/folder"
	"github.com/deepercluster/deepercluster/dataset/synthetic"
)

// TestSearchFindsFolderAndTableFields ingests a real nested folder with a
// CSV table and searches the real index: a tag only a folder name carries,
// a table tag, and a word only an extra column of the table holds.
func TestSearchFindsFolderAndTableFields(t *testing.T) {
	root := t.TempDir()
	photos := filepath.Join(root, "photos")
	files := []string{"holidays/2019/beach/a.jpg", "holidays/2019/beach/b.jpg", "work/c.jpg", "work/d.jpg"}
	for i, f := range files {
		p := filepath.Join(photos, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := jpeg.Encode(&b, synthetic.ScenePhoto(i, uint64(i), 80, 60), nil); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	meta := filepath.Join(root, "meta.csv")
	if err := os.WriteFile(meta, []byte("file,tags,lens\nwork/c.jpg,\"desk,coffee\",Summicron\nholidays/2019/beach/a.jpg,sunny,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "ds")
	if _, err := folder.Ingest(context.Background(), folder.Config{Images: photos, Meta: meta, Out: out, Size: 16, ThumbPx: 32}); err != nil {
		t.Fatal(err)
	}
	d, err := dataset.OpenDir(out)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// One super-cluster, one sub-cluster per image.
	a := assignment(1, 1, []int32{0, 0, 0, 0}, []int32{0, 1, 2, 3})
	ix, _ := built(t, d, a)
	for _, tc := range []struct {
		q     deepercluster.Query
		count int // images matched, over all sub-clusters
	}{
		{deepercluster.Query{Tags: []string{"beach"}}, 2},    // only the folder name says so
		{deepercluster.Query{Tags: []string{"Holidays"}}, 2}, // case-insensitive
		{deepercluster.Query{Tags: []string{"work"}}, 2},
		{deepercluster.Query{Tags: []string{"coffee"}}, 1}, // the table's tags
		{deepercluster.Query{Text: "summicron"}, 1},        // an extra column, as text
		{deepercluster.Query{Tags: []string{"nowhere"}}, 0},
	} {
		res, err := ix.Search(context.Background(), tc.q)
		if err != nil {
			t.Fatalf("%+v: %v", tc.q, err)
		}
		n := 0
		for _, h := range res.Subs {
			n += h.Count
		}
		if n != tc.count {
			t.Errorf("%+v: %d images matched, want %d", tc.q, n, tc.count)
		}
	}
}

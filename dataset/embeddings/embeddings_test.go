package embeddings

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset"
	"github.com/deepercluster/deepercluster/dataset/folder"
	"github.com/deepercluster/deepercluster/dataset/synthetic"
	"github.com/deepercluster/deepercluster/internal/npy"
	"github.com/deepercluster/deepercluster/trainer"
)

// parquetRow is the table another tool would write: an id and a
// list<float> vector.
type parquetRow struct {
	ID        string    `parquet:"id"`
	Embedding []float32 `parquet:"embedding,list"`
}

// photos ingests n generated photos at 16 px (a folder of photos, as
// `serve --dataset DIR` sees it).
func photos(t *testing.T, n int) deepercluster.Dataset {
	t.Helper()
	root := t.TempDir()
	for i := range n {
		kind := i % len(synthetic.SceneKinds)
		p := filepath.Join(root, "photos", synthetic.SceneKinds[kind], fmt.Sprintf("%03d.png", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := png.Encode(&b, synthetic.ScenePhoto(kind, uint64(i), 48, 32)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(root, "ds")
	if _, err := folder.Ingest(context.Background(), folder.Config{Images: filepath.Join(root, "photos"), Out: out, Size: 16, ThumbPx: 32}); err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.OpenDir(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() })
	return ds
}

// ourFeatures are the features our own extractor gives the dataset.
func ourFeatures(t *testing.T, ds deepercluster.Dataset) (int, []float32) {
	t.Helper()
	net, err := trainer.NewCPUBackend(trainer.BackendConfig{Batch: 8, LR: 0.05, Seed: 3,
		Model: trainer.ModelConfig{Resolution: 16, Width: 4, Depth: 2, ConvsPerStage: 1, Hidden: 16}})
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	f, err := trainer.ExtractFeatures(context.Background(), net, ds, nil)
	if err != nil {
		t.Fatal(err)
	}
	return net.FeatureDim(), f
}

func writeParquet(t *testing.T, path string, rows []parquetRow) {
	t.Helper()
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
}

// TestLoadOurFeatures: features of a folder of photos made by our own
// extractor, written as Parquet in shuffled order (ids as the dataset
// names its photos) and as .npy, come back as the same matrix in the
// dataset's order.
func TestLoadOurFeatures(t *testing.T) {
	ds := photos(t, 24)
	dim, want := ourFeatures(t, ds)
	dir := t.TempDir()
	n := ds.Len()
	rows := make([]parquetRow, n)
	for i := range n {
		rows[i] = parquetRow{ID: ds.Meta(i).PhotoID, Embedding: want[i*dim : (i+1)*dim]}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	pq := filepath.Join(dir, "emb.parquet")
	writeParquet(t, pq, rows)
	np := filepath.Join(dir, "emb.npy")
	if err := npy.Write(np, n, dim, want); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{pq, np} {
		m, err := Load(context.Background(), path, ds, "")
		if err != nil {
			t.Fatal(err)
		}
		if m.N != n || m.Dim != dim {
			t.Fatalf("%s: %d x %d, want %d x %d", filepath.Base(path), m.N, m.Dim, n, dim)
		}
		for i, v := range m.Data {
			if v != want[i] {
				t.Fatalf("%s: value %d (image %d) is %v, want %v", filepath.Base(path), i, i/dim, v, want[i])
			}
		}
	}
}

// TestLoadBadInput: each kind of bad input is refused with one line that
// names the file and the problem.
func TestLoadBadInput(t *testing.T) {
	ds := photos(t, 12)
	n := ds.Len()
	dir := t.TempDir()
	good := func() []parquetRow {
		rows := make([]parquetRow, n)
		for i := range n {
			rows[i] = parquetRow{ID: ds.Meta(i).PhotoID, Embedding: []float32{float32(i), 1, 2}}
		}
		return rows
	}
	nanRows := good()
	nanRows[3].Embedding[1] = float32(math.NaN())
	nanRows[7].Embedding[0] = float32(math.Inf(1))
	wide := good()
	wide[5].Embedding = []float32{1, 2}
	foreign := good()
	foreign[2].ID, foreign[9].ID = "elsewhere/a.jpg", "elsewhere/b.jpg"
	short := good()[:n-1]
	dup := good()
	dup[4].ID = dup[3].ID
	cases := []struct {
		name   string
		file   string
		write  func(path string)
		column string
		want   []string
	}{
		{"npy rows", "short.npy", func(p string) { npy.Write(p, n-2, 3, make([]float32, (n-2)*3)) }, "",
			[]string{fmt.Sprintf("%d rows, the dataset has %d images", n-2, n)}},
		{"npy NaN rows", "nan.npy", func(p string) {
			d := make([]float32, n*3)
			d[3*4+2] = float32(math.NaN())
			d[3*9] = float32(math.NaN())
			npy.Write(p, n, 3, d)
		}, "", []string{"2 rows hold NaN", "row 4, row 9"}},
		{"NaN rows", "nan.parquet", func(p string) { writeParquet(t, p, nanRows) }, "",
			[]string{"2 rows hold NaN", fmt.Sprintf("%q", ds.Meta(3).PhotoID), fmt.Sprintf("%q", ds.Meta(7).PhotoID)}},
		{"widths", "wide.parquet", func(p string) { writeParquet(t, p, wide) }, "",
			[]string{"row 6", "2 values", "have 3"}},
		{"ids not in the dataset", "foreign.parquet", func(p string) { writeParquet(t, p, foreign) }, "",
			[]string{"2 ids are not in the dataset", `"elsewhere/a.jpg", "elsewhere/b.jpg"`}},
		{"images without a row", "short.parquet", func(p string) { writeParquet(t, p, short) }, "",
			[]string{fmt.Sprintf("1 of the dataset's %d images have no row", n), ds.Meta(n - 1).PhotoID}},
		{"duplicate ids", "dup.parquet", func(p string) { writeParquet(t, p, dup) }, "",
			[]string{"1 ids appear more than once"}},
		{"no such column", "col.parquet", func(p string) { writeParquet(t, p, good()) }, "clip",
			[]string{`list<float> column "clip"`, "embedding.list.element"}},
		{"not parquet", "junk.parquet", func(p string) { os.WriteFile(p, []byte("id,embedding\n"), 0o644) }, "",
			[]string{"not a Parquet file"}},
		{"format", "emb.csv", func(p string) { os.WriteFile(p, nil, 0o644) }, "",
			[]string{`unknown format ".csv"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.file)
			c.write(path)
			_, err := Load(context.Background(), path, ds, c.column)
			if err == nil {
				t.Fatal("loaded")
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming %s", msg, path)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q: want it to say %q", msg, w)
				}
			}
		})
	}
}

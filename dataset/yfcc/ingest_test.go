package yfcc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset"

	"github.com/deepercluster/deepercluster/dataset/internal/testimage"
)

// ingestFixture writes a metadata file with good and bad lines in both
// layouts, an images folder (flat and hashed, one corrupt file, one photo
// missing) and an autotags file.
func ingestFixture(t *testing.T) (meta, images, autotags string) {
	t.Helper()
	dir := t.TempDir()
	images = filepath.Join(dir, "images")
	src := testimage.Stripes(96, 48)
	const h2 = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	testimage.WriteFile(t, filepath.Join(images, "1.jpg"), testimage.Encode(t, src, "jpg"))
	testimage.WriteFile(t, filepath.Join(images, h2[0:3], h2[3:6], h2+".png"), testimage.Encode(t, src, "png"))
	testimage.WriteFile(t, filepath.Join(images, "4.jpg"), []byte("not a jpeg at all"))
	testimage.WriteFile(t, filepath.Join(images, "5.gif"), testimage.Encode(t, src, "gif"))
	set := func(id, tags string) func(f []string) {
		return func(f []string) { f[0], f[8] = id, tags }
	}
	lines := []string{
		line23(set("1", "beach,sun")),                   // 1: good, flat jpg
		"7088065\t30302697@N00\ttoo few",                // 2: bad
		line25(1, h2, set("2", "beach,new+york")),       // 3: good, hashed png
		line23(set("3", "beach")),                       // 4: image missing
		line23(set("4", "beach")),                       // 5: image corrupt
		line23(set("6", "%zz")),                         // 6: bad encoding
		line23(set("5", "beach,c%2B%2B,sun,k%C3%B6ln")), // 7: good, gif
	}
	meta = filepath.Join(dir, "yfcc.tsv")
	testimage.WriteFile(t, meta, []byte(strings.Join(lines, "\n")+"\n"))
	autotags = filepath.Join(dir, "autotags.tsv")
	testimage.WriteFile(t, autotags, []byte("1\toutdoor:0.9,sky:0.25\n5\t\nnot a line\n42\tunused:0.5\n"))
	return meta, images, autotags
}

func TestIngest(t *testing.T) {
	meta, images, autotags := ingestFixture(t)
	out := filepath.Join(t.TempDir(), "ds")
	var calls int
	m, err := Ingest(context.Background(), IngestConfig{
		YFCC: meta, Images: images, AutoTags: autotags, Size: 8, Out: out, Workers: 2,
		Progress: func(read, total int64, n int) { calls++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Images != 3 || m.Lines != 7 || m.BadLines != 2 || m.MissingImages != 2 || m.CorruptImages != 1 || m.BadAutoTagLines != 1 {
		t.Errorf("manifest counts %+v", m)
	}
	if calls == 0 {
		t.Error("progress never reported")
	}
	for _, want := range []string{"line 2:", "line 4:", "line 5:", "line 6"} {
		found := false
		for _, p := range m.Problems {
			if strings.Contains(p, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem mentions %q: %q", want, m.Problems)
		}
	}
	d, err := dataset.OpenDir(out)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var ids []string
	buf := make([]byte, deepercluster.ImageBytes(8))
	for i := range d.Len() {
		ids = append(ids, d.Meta(i).PhotoID)
		if err := d.Image(i, buf); err != nil {
			t.Fatal(err)
		}
		testimage.CheckHalves(t, buf, 8, 12)
	}
	if want := []string{"1", "2", "5"}; !slices.Equal(ids, want) {
		t.Errorf("photo ids %q, want %q in metadata order", ids, want)
	}
	if l := d.SourceLine(1); l != 3 {
		t.Errorf("source line of photo 2: %d, want 3", l)
	}
	if got := d.Meta(0).AutoTags; !slices.Equal(got, []deepercluster.AutoTag{{Concept: "outdoor", Prob: 0.9}, {Concept: "sky", Prob: 0.25}}) {
		t.Errorf("autotags of photo 1: %v", got)
	}
	if got := d.Meta(2).AutoTags; len(got) != 0 {
		t.Errorf("autotags of photo 5: %v, want none", got)
	}
	if got := d.Meta(1).Hash; got != "0f1e2d3c4b5a69788796a5b4c3d2e1f0" {
		t.Errorf("hash %q", got)
	}
	want := []deepercluster.TagCount{{Tag: "beach", Count: 3}, {Tag: "sun", Count: 2}, {Tag: "c++", Count: 1}, {Tag: "köln", Count: 1}, {Tag: "new york", Count: 1}}
	if got := dataset.TopTags(d, 10); !slices.Equal(got, want) {
		t.Errorf("top tags %v, want %v", got, want)
	}
	// A second ingest into the same place is refused, the first stays.
	if _, err := Ingest(context.Background(), IngestConfig{YFCC: meta, Images: images, Size: 8, Out: out}); err == nil {
		t.Error("ingest over an existing dataset accepted")
	}
}

func TestIngestLarge(t *testing.T) {
	// Enough records to keep both workers and the reorder buffer busy.
	dir := t.TempDir()
	images := filepath.Join(dir, "images")
	var b strings.Builder
	const n = 300
	jpg := testimage.Encode(t, testimage.Stripes(40, 20), "jpg")
	for i := 1; i <= n; i++ {
		if i%7 != 0 {
			testimage.WriteFile(t, filepath.Join(images, fmt.Sprintf("%d.jpg", i)), jpg)
		}
		b.WriteString(line23(func(f []string) { f[0], f[8] = fmt.Sprint(i), fmt.Sprintf("t%d", i%5) }) + "\n")
		if i%50 == 0 {
			b.WriteString("garbage\n")
		}
	}
	meta := filepath.Join(dir, "meta.tsv")
	testimage.WriteFile(t, meta, []byte(b.String()))
	out := filepath.Join(dir, "out")
	m, err := Ingest(context.Background(), IngestConfig{YFCC: meta, Images: images, Size: 4, Out: out, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	missing := n / 7
	if m.Images != n-missing || m.MissingImages != missing || m.BadLines != n/50 || len(m.Problems) != 2*dataset.MaxProblems-(dataset.MaxProblems-n/50) {
		t.Errorf("counts: images %d missing %d bad %d problems %d", m.Images, m.MissingImages, m.BadLines, len(m.Problems))
	}
	d, err := dataset.OpenDir(out)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	prev := 0
	for i := range d.Len() {
		var id int
		fmt.Sscan(d.Meta(i).PhotoID, &id)
		if id <= prev || id%7 == 0 {
			t.Fatalf("entry %d: photo %d after %d", i, id, prev)
		}
		prev = id
	}
}

func TestIngestCancelledLeavesNothing(t *testing.T) {
	meta, images, _ := ingestFixture(t)
	parent := t.TempDir()
	out := filepath.Join(parent, "ds")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Ingest(ctx, IngestConfig{YFCC: meta, Images: images, Size: 8, Out: out})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("cancelled ingest left %v", entries)
	}
}

// bigIngestFixture writes n metadata lines whose photos all exist (flat
// PNGs), enough records for Ingest to report progress several times.
func bigIngestFixture(t *testing.T, n int) (meta, images string) {
	t.Helper()
	dir := t.TempDir()
	images = filepath.Join(dir, "images")
	png := testimage.Encode(t, testimage.Stripes(24, 24), "png")
	var lines []string
	for i := 1; i <= n; i++ {
		id := fmt.Sprint(i)
		testimage.WriteFile(t, filepath.Join(images, id+".png"), png)
		lines = append(lines, line23(func(f []string) { f[0], f[8], f[22] = id, "beach", "0" }))
	}
	meta = filepath.Join(dir, "yfcc.tsv")
	testimage.WriteFile(t, meta, []byte(strings.Join(lines, "\n")+"\n"))
	return meta, images
}

// TestIngestCancelledMidwayLeavesNothing cancels once images have been
// written into the dataset under construction: nothing is left at all,
// neither the dataset nor its temporary directory.
func TestIngestCancelledMidwayLeavesNothing(t *testing.T) {
	meta, images := bigIngestFixture(t, 200)
	parent := t.TempDir()
	out := filepath.Join(parent, "ds")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	written, building := 0, false
	_, err := Ingest(ctx, IngestConfig{YFCC: meta, Images: images, Size: 8, Out: out, Workers: 2,
		Progress: func(read, total int64, n int) {
			if written == 0 && n > 0 {
				written = n
				entries, _ := os.ReadDir(parent)
				building = len(entries) == 1 && strings.Contains(entries[0].Name(), ".tmp-")
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if written == 0 || written >= 200 || !building {
		t.Fatalf("cancelled after %d of 200 images (temporary directory present: %v): not in the middle of the ingest", written, building)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("ingest cancelled after %d images left %v", written, entries)
	}
}

func TestIngestBadConfig(t *testing.T) {
	meta, images, _ := ingestFixture(t)
	out := filepath.Join(t.TempDir(), "ds")
	for _, tc := range []struct {
		name string
		cfg  IngestConfig
	}{
		{"no metadata", IngestConfig{Images: images, Size: 8, Out: out}},
		{"metadata missing", IngestConfig{YFCC: meta + ".nope", Images: images, Size: 8, Out: out}},
		{"images missing", IngestConfig{YFCC: meta, Images: images + ".nope", Size: 8, Out: out}},
		{"autotags missing", IngestConfig{YFCC: meta, Images: images, AutoTags: meta + ".nope", Size: 8, Out: out}},
		{"size zero", IngestConfig{YFCC: meta, Images: images, Size: 0, Out: out}},
		{"size too big", IngestConfig{YFCC: meta, Images: images, Size: deepercluster.MaxResolution + 1, Out: out}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Ingest(context.Background(), tc.cfg); err == nil {
				t.Error("accepted")
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("output created")
			}
		})
	}
}

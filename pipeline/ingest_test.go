package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset"
	"github.com/deepercluster/deepercluster/dataset/source"
	"github.com/deepercluster/deepercluster/dataset/yfcc"
	"github.com/deepercluster/deepercluster/internal/yfccgen"
)

func TestSplitLinesCoversTheFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, text string
		n          int
	}{
		{"empty", "", 3},
		{"one line no newline", "abc", 2},
		{"lines", "a\nbb\n\nccc\ndddd\n", 3},
		{"trailing partial", "a\nbb\nccc", 2},
		{"more chunks than lines", "a\nb\n", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			cs, err := SplitLines(path, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != tc.n {
				t.Fatalf("%d chunks, want %d", len(cs), tc.n)
			}
			var at int64
			line := 1
			for i, c := range cs {
				if c.Start != at || c.End < c.Start {
					t.Fatalf("chunk %d %+v does not follow %d", i, c, at)
				}
				if c.FirstLine != line {
					t.Fatalf("chunk %d starts at line %d, want %d", i, c.FirstLine, line)
				}
				part := tc.text[c.Start:c.End]
				if c.Start > 0 && c.Start < int64(len(tc.text)) && tc.text[c.Start-1] != '\n' {
					t.Fatalf("chunk %d starts mid-line", i)
				}
				line += strings.Count(part, "\n")
				if part != "" && !strings.HasSuffix(part, "\n") {
					line++
				}
				at = c.End
			}
			if at != int64(len(tc.text)) {
				t.Fatalf("chunks end at %d of %d", at, len(tc.text))
			}
		})
	}
}

// TestIngestMatchesSingleMachine runs the Beam ingest on Prism and
// yfcc.Ingest on the same input: same counts, same images in the same
// order with the same pixels and metadata.
func TestIngestMatchesSingleMachine(t *testing.T) {
	dir := t.TempDir()
	in, err := yfccgen.Write(dir, yfccgen.Config{Lines: 150, Width: 40, Height: 30, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		autotags string
		shards   int
	}{
		{"three shards with autotags", in.AutoTags, 3},
		{"one shard without autotags", "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			single := filepath.Join(dir, tc.name+"-single")
			want, err := yfcc.Ingest(ctx, yfcc.IngestConfig{YFCC: in.YFCC, Images: in.Images, AutoTags: tc.autotags, Size: 16, Out: single})
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, tc.name+"-sharded")
			got, err := Ingest(ctx, IngestConfig{YFCC: in.YFCC, Images: in.Images, AutoTags: tc.autotags, Size: 16, Out: out, Shards: tc.shards})
			if err != nil {
				t.Fatal(err)
			}
			if want.BadLines != in.Bad || want.MissingImages != in.Missing || want.CorruptImages != in.Corrupt {
				t.Fatalf("single-machine ingest counts %d bad, %d missing, %d corrupt; generated %d, %d, %d",
					want.BadLines, want.MissingImages, want.CorruptImages, in.Bad, in.Missing, in.Corrupt)
			}
			for _, c := range []struct {
				name      string
				got, want int
			}{
				{"images", got.Images, want.Images},
				{"lines", got.Lines, want.Lines},
				{"bad lines", got.BadLines, want.BadLines},
				{"missing", got.MissingImages, want.MissingImages},
				{"corrupt", got.CorruptImages, want.CorruptImages},
				{"autotag lines", got.AutoTagLines, want.AutoTagLines},
				{"bad autotag lines", got.BadAutoTagLines, want.BadAutoTagLines},
				{"shards", len(got.Shards), tc.shards},
			} {
				if c.got != c.want {
					t.Errorf("%s: pipeline %d, single machine %d", c.name, c.got, c.want)
				}
			}
			if len(got.Problems) != len(want.Problems) {
				t.Errorf("problems: pipeline %d, single machine %d", len(got.Problems), len(want.Problems))
			}
			for _, p := range want.Problems {
				if !slicesContains(got.Problems, p) {
					t.Errorf("problem %q missing from the pipeline's manifest", p)
				}
			}
			sd, err := source.Open(out, source.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer sd.(*dataset.Sharded).Close()
			d, err := dataset.OpenDir(single)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if sd.Len() != d.Len() || sd.Len() == 0 {
				t.Fatalf("%d images, single machine %d", sd.Len(), d.Len())
			}
			a, b := make([]byte, deepercluster.ImageBytes(16)), make([]byte, deepercluster.ImageBytes(16))
			autotagged := 0
			for i := range d.Len() {
				if err := sd.Image(i, a); err != nil {
					t.Fatal(err)
				}
				if err := d.Image(i, b); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a, b) {
					t.Fatalf("image %d: pixels differ", i)
				}
				gm, wm := sd.Meta(i), d.Meta(i)
				if !reflect.DeepEqual(gm, wm) {
					t.Fatalf("image %d: metadata %+v, single machine %+v", i, gm, wm)
				}
				if len(wm.AutoTags) > 0 {
					autotagged++
				}
				if sd.(*dataset.Sharded).SourceLine(i) != d.SourceLine(i) {
					t.Fatalf("image %d: line %d, single machine %d", i, sd.(*dataset.Sharded).SourceLine(i), d.SourceLine(i))
				}
			}
			if tc.autotags != "" && autotagged == 0 {
				t.Fatal("no image got autotags: the join is not tested")
			}
			if _, err := Ingest(ctx, IngestConfig{YFCC: in.YFCC, Images: in.Images, Size: 16, Out: out, Shards: tc.shards}); err == nil {
				t.Fatal("ingest over an existing sharded dataset without Replace succeeded")
			}
		})
	}
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

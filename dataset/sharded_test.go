package dataset

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/deepercluster/deepercluster"
)

func TestShardedReadsShardsInOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sizes  []int
		labels bool
	}{
		{"one shard", []int{5}, false},
		{"three shards", []int{3, 1, 4}, true},
		{"an empty shard", []int{2, 0, 3}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var names []string
			for s, n := range tc.sizes {
				names = append(names, ShardName(s))
				writeTestDir(t, filepath.Join(dir, ShardName(s)), n, 4, tc.labels)
			}
			if IsSharded(dir) {
				t.Fatal("IsSharded before the manifest is written")
			}
			sm, err := CommitSharded(dir, names, Manifest{Source: map[string]string{"yfcc": "x"}})
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, n := range tc.sizes {
				total += n
			}
			if sm.Images != total || sm.Lines != total+2*len(tc.sizes) || sm.BadLines != 2*len(tc.sizes) {
				t.Fatalf("manifest counts %d images, %d lines, %d bad; want %d, %d, %d", sm.Images, sm.Lines, sm.BadLines, total, total+2*len(tc.sizes), 2*len(tc.sizes))
			}
			ds, err := OpenPath(dir)
			if err != nil {
				t.Fatal(err)
			}
			sd, ok := ds.(*Sharded)
			if !ok {
				t.Fatalf("OpenPath gave %T, want *Sharded", ds)
			}
			defer sd.Close()
			if sd.Len() != total || sd.Resolution() != 4 {
				t.Fatalf("Len %d Resolution %d, want %d 4", sd.Len(), sd.Resolution(), total)
			}
			got, want := make([]byte, deepercluster.ImageBytes(4)), make([]byte, deepercluster.ImageBytes(4))
			i := 0
			for s, n := range tc.sizes {
				d, err := OpenDir(filepath.Join(dir, ShardName(s)))
				if err != nil {
					t.Fatal(err)
				}
				for j := range n {
					if err := sd.Image(i, got); err != nil {
						t.Fatal(err)
					}
					if err := d.Image(j, want); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("image %d is not shard %d's image %d", i, s, j)
					}
					if sd.Meta(i).PhotoID != d.Meta(j).PhotoID || sd.SourceLine(i) != d.SourceLine(j) {
						t.Fatalf("metadata %d is not shard %d's %d", i, s, j)
					}
					l1, ok1 := sd.Label(i)
					l2, ok2 := d.Label(j)
					if l1 != l2 || ok1 != ok2 {
						t.Fatalf("label %d: %d,%v want %d,%v", i, l1, ok1, l2, ok2)
					}
					i++
				}
				d.Close()
			}
			if err := sd.Image(total, got); err == nil {
				t.Fatal("image past the end read without error")
			}
			tags := TopTags(sd, 3)
			if len(tags) == 0 || tags[0].Tag != "all" || tags[0].Count != total {
				t.Fatalf("top tags %v, want all(%d) first", tags, total)
			}
		})
	}
}

func TestOpenShardedRefusesMismatch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		breakIt func(t *testing.T, dir string)
		want    error
	}{
		{"shard removed", func(t *testing.T, dir string) {
			if err := os.RemoveAll(filepath.Join(dir, ShardName(1))); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"shard replaced by a smaller one", func(t *testing.T, dir string) {
			if err := os.RemoveAll(filepath.Join(dir, ShardName(1))); err != nil {
				t.Fatal(err)
			}
			writeTestDir(t, filepath.Join(dir, ShardName(1)), 1, 4, false)
		}, ErrIncomplete},
		{"manifest missing", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, ShardedManifestFile)); err != nil {
				t.Fatal(err)
			}
		}, ErrIncomplete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTestDir(t, filepath.Join(dir, ShardName(0)), 2, 4, false)
			writeTestDir(t, filepath.Join(dir, ShardName(1)), 3, 4, false)
			if _, err := CommitSharded(dir, []string{ShardName(0), ShardName(1)}, Manifest{}); err != nil {
				t.Fatal(err)
			}
			tc.breakIt(t, dir)
			_, err := OpenSharded(dir)
			if err == nil {
				t.Fatal("opened a broken sharded dataset")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

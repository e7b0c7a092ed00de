package dataset

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/internal/atomicfile"
)

// A sharded dataset is a directory holding a manifest of shards and the
// shards themselves, each a dataset directory of the usual format
// (DirWriter/OpenDir):
//
//	shards.json    ShardedManifest, written last: its presence marks the dataset complete
//	shard-00000/   a dataset directory (manifest.json, images.u8, ...)
//	shard-00001/   ...
//
// Image i of the sharded dataset is image i - Start(s) of the shard s that
// holds it: shards are concatenated in manifest order. Shard paths in the
// manifest are relative to the sharded directory. Only local paths are
// read here; a shard on another filesystem (GCS, S3, HDFS) would need a
// reader of byte ranges in place of the memory map of OpenDir, and a
// manifest naming full URLs, which this package does not do.
const (
	ShardedManifestFile = "shards.json"
	ShardedFormat       = "deepercluster-sharded-dataset"
	ShardedVersion      = 1
)

// ShardName is the directory name of shard s in a sharded dataset.
func ShardName(s int) string { return fmt.Sprintf("shard-%05d", s) }

// ShardRef is one shard of a sharded dataset as its manifest lists it.
type ShardRef struct {
	// Dir is the shard's directory, relative to the sharded dataset.
	Dir string `json:"dir"`
	// Images is how many images the shard holds (checked on open).
	Images int `json:"images"`
}

// ShardedManifest describes a sharded dataset: the shards in order and
// the totals of their manifests (counts of lines, bad lines, missing
// images and so on summed; problems and top tags merged).
type ShardedManifest struct {
	Manifest
	Shards []ShardRef `json:"shards"`
}

// IsSharded reports whether dir holds a sharded dataset's manifest.
func IsSharded(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, ShardedManifestFile))
	return err == nil && st.Mode().IsRegular()
}

// CommitSharded writes the manifest of a sharded dataset at dir whose
// shards (dataset directories under dir, in order) are already complete:
// it opens each, sums their counts, and writes shards.json atomically, so
// the dataset exists only once every shard does. extra supplies the
// sources; its counts are added to the shards'. It returns the manifest
// as written.
func CommitSharded(dir string, shards []string, extra Manifest) (ShardedManifest, error) {
	sm := ShardedManifest{Manifest: extra}
	sm.Format, sm.Version = ShardedFormat, ShardedVersion
	tags := map[string]int{}
	exact := true
	var problems []string
	for s, rel := range shards {
		d, err := OpenDir(filepath.Join(dir, rel))
		if err != nil {
			return sm, fmt.Errorf("sharded dataset %s: shard %d: %w", dir, s, err)
		}
		m := d.Manifest()
		d.Close()
		if s == 0 {
			sm.Resolution, sm.Channels, sm.Labels, sm.ThumbPx = m.Resolution, m.Channels, m.Labels, m.ThumbPx
		} else if m.Resolution != sm.Resolution {
			return sm, fmt.Errorf("sharded dataset %s: shard %s has resolution %d, shard 0 has %d", dir, rel, m.Resolution, sm.Resolution)
		}
		sm.Labels = sm.Labels || m.Labels
		if m.ThumbPx != sm.ThumbPx {
			sm.ThumbPx = 0
		}
		sm.Shards = append(sm.Shards, ShardRef{Dir: rel, Images: m.Images})
		sm.Images += m.Images
		sm.Lines += m.Lines
		sm.BadLines += m.BadLines
		sm.MissingImages += m.MissingImages
		sm.CorruptImages += m.CorruptImages
		sm.AutoTagLines += m.AutoTagLines
		sm.BadAutoTagLines += m.BadAutoTagLines
		sm.ImageFiles += m.ImageFiles
		sm.MissingFiles += m.MissingFiles
		sm.FilesWithoutRow += m.FilesWithoutRow
		sm.SkippedFiles += m.SkippedFiles
		problems = append(problems, m.Problems...)
		if len(m.TopTags) >= topTagsKept {
			exact = false
		}
		for _, tc := range m.TopTags {
			tags[tc.Tag] += tc.Count
		}
	}
	if len(shards) == 0 {
		return sm, fmt.Errorf("sharded dataset %s: no shards", dir)
	}
	sm.Problems = append(sm.Problems, problems[:min(len(problems), 3*MaxProblems)]...)
	if sm.Problems == nil {
		sm.Problems = []string{}
	}
	if exact {
		sm.TopTags = topOfCounts(tags, topTagsKept)
	} else {
		// Shards list only their top tags: the merged list would be a
		// guess, so readers count tags themselves.
		sm.TopTags = nil
	}
	sm.Files = nil
	if sm.Created.IsZero() {
		sm.Created = time.Now().UTC()
	}
	b, err := json.MarshalIndent(sm, "", "  ")
	if err != nil {
		return sm, fmt.Errorf("encode %s: %w", ShardedManifestFile, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, ShardedManifestFile), append(b, '\n')); err != nil {
		return sm, fmt.Errorf("sharded dataset %s: %w", dir, err)
	}
	return sm, nil
}

// Sharded is a sharded dataset opened for reading: the shards' Dirs seen
// as one dataset. All methods are safe for concurrent use.
type Sharded struct {
	path     string
	manifest ShardedManifest
	shards   []*Dir
	start    []int // start[s] is the index of shard s's first image; len(shards)+1 entries
	display  bool
}

var (
	_ deepercluster.Dataset       = (*Sharded)(nil)
	_ deepercluster.DisplayImages = (*Sharded)(nil)
)

// OpenSharded opens the sharded dataset at dir: its manifest and every
// shard (OpenDir), checking that the shards hold the images the manifest
// says and share one resolution.
func OpenSharded(dir string) (*Sharded, error) {
	dir = filepath.Clean(dir)
	mb, err := os.ReadFile(filepath.Join(dir, ShardedManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s has no %s", ErrIncomplete, dir, ShardedManifestFile)
	}
	if err != nil {
		return nil, fmt.Errorf("open sharded dataset: %w", err)
	}
	sd := &Sharded{path: dir, start: []int{0}}
	if err := json.Unmarshal(mb, &sd.manifest); err != nil {
		return nil, fmt.Errorf("%w: %s/%s: %v", ErrIncomplete, dir, ShardedManifestFile, err)
	}
	m := &sd.manifest
	if m.Format != ShardedFormat || m.Version != ShardedVersion {
		return nil, fmt.Errorf("%s/%s: format %q version %d, want %q version %d", dir, ShardedManifestFile, m.Format, m.Version, ShardedFormat, ShardedVersion)
	}
	if len(m.Shards) == 0 {
		return nil, fmt.Errorf("%s/%s: no shards", dir, ShardedManifestFile)
	}
	sd.display = m.ThumbPx > 0
	for s, ref := range m.Shards {
		if filepath.IsAbs(ref.Dir) || strings.HasPrefix(filepath.Clean(ref.Dir), "..") {
			sd.Close()
			return nil, fmt.Errorf("%s/%s: shard %d: path %q leaves the dataset", dir, ShardedManifestFile, s, ref.Dir)
		}
		d, err := OpenDir(filepath.Join(dir, ref.Dir))
		if err != nil {
			sd.Close()
			return nil, fmt.Errorf("sharded dataset %s: shard %d: %w", dir, s, err)
		}
		sd.shards = append(sd.shards, d)
		if d.Len() != ref.Images {
			sd.Close()
			return nil, fmt.Errorf("%w: %s/%s: shard %s holds %d images, manifest says %d", ErrIncomplete, dir, ShardedManifestFile, ref.Dir, d.Len(), ref.Images)
		}
		if d.Resolution() != m.Resolution {
			sd.Close()
			return nil, fmt.Errorf("%s: shard %s has resolution %d, manifest says %d", dir, ref.Dir, d.Resolution(), m.Resolution)
		}
		sd.start = append(sd.start, sd.start[s]+d.Len())
	}
	if sd.start[len(sd.shards)] != m.Images {
		sd.Close()
		return nil, fmt.Errorf("%w: %s/%s: shards hold %d images, manifest says %d", ErrIncomplete, dir, ShardedManifestFile, sd.start[len(sd.shards)], m.Images)
	}
	return sd, nil
}

// Close closes every shard.
func (sd *Sharded) Close() error {
	var errs []error
	for _, d := range sd.shards {
		errs = append(errs, d.Close())
	}
	return errors.Join(errs...)
}

// Path is the directory the dataset was opened from.
func (sd *Sharded) Path() string { return sd.path }

// Manifest returns what shards.json records.
func (sd *Sharded) Manifest() ShardedManifest { return sd.manifest }

// NumShards is the number of shards.
func (sd *Sharded) NumShards() int { return len(sd.shards) }

// Shard returns shard s and the index of its first image in the whole.
func (sd *Sharded) Shard(s int) (*Dir, int) { return sd.shards[s], sd.start[s] }

// locate finds the shard of image i and its index there.
func (sd *Sharded) locate(i int) (*Dir, int, error) {
	if i < 0 || i >= sd.manifest.Images {
		return nil, 0, fmt.Errorf("image %d out of range [0, %d)", i, sd.manifest.Images)
	}
	s := sort.SearchInts(sd.start, i+1) - 1
	return sd.shards[s], i - sd.start[s], nil
}

// Len implements deepercluster.Dataset.
func (sd *Sharded) Len() int { return sd.manifest.Images }

// Resolution implements deepercluster.Dataset.
func (sd *Sharded) Resolution() int { return sd.manifest.Resolution }

// Image implements deepercluster.Dataset.
func (sd *Sharded) Image(i int, dst []byte) error {
	d, j, err := sd.locate(i)
	if err != nil {
		return err
	}
	return d.Image(j, dst)
}

// Meta implements deepercluster.Dataset.
func (sd *Sharded) Meta(i int) deepercluster.Meta {
	d, j, err := sd.locate(i)
	if err != nil {
		return deepercluster.Meta{}
	}
	return d.Meta(j)
}

// Label implements deepercluster.Dataset.
func (sd *Sharded) Label(i int) (int, bool) {
	d, j, err := sd.locate(i)
	if err != nil {
		return 0, false
	}
	return d.Label(j)
}

// SourceLine is the metadata line image i came from (0 if unknown).
func (sd *Sharded) SourceLine(i int) int {
	d, j, err := sd.locate(i)
	if err != nil {
		return 0
	}
	return d.SourceLine(j)
}

// DisplaySize implements deepercluster.DisplayImages: the shards' display
// size when they all keep display copies of one size, else 0.
func (sd *Sharded) DisplaySize() int {
	if !sd.display {
		return 0
	}
	return sd.manifest.ThumbPx
}

// DisplayJPEG implements deepercluster.DisplayImages.
func (sd *Sharded) DisplayJPEG(i int) ([]byte, error) {
	if !sd.display {
		return nil, fmt.Errorf("sharded dataset %s keeps no display copies", sd.path)
	}
	d, j, err := sd.locate(i)
	if err != nil {
		return nil, err
	}
	return d.DisplayJPEG(j)
}

// TopTags returns the manifest's merged top tags when they are exact (no
// shard cut its list short); TopTags (the function) counts otherwise.
func (sd *Sharded) TopTags(n int) ([]deepercluster.TagCount, bool) {
	if sd.manifest.TopTags == nil || (n > len(sd.manifest.TopTags) && len(sd.manifest.TopTags) >= topTagsKept) {
		return nil, false
	}
	tt := sd.manifest.TopTags
	return append([]deepercluster.TagCount(nil), tt[:min(n, len(tt))]...), true
}

package dataset

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/internal/atomicfile"
)

// A dataset directory, as written by DirWriter (and `deepercluster ingest`):
//
//	manifest.json  Manifest, written last: its presence marks the directory complete
//	images.u8      Images*Resolution*Resolution*3 bytes, RGB HWC, image after image
//	meta.jsonl     one JSON object per image (photo id, tags, ...)
//	meta.idx       Images+1 little-endian uint64 byte offsets into meta.jsonl
//	labels.i32     Images little-endian int32 labels, -1 for none (only when labels is true)
//	thumbs.jpg     display copies, one JPEG after another (only when thumb_px > 0)
//	thumbs.idx     Images+1 little-endian uint64 byte offsets into thumbs.jpg
//
// The image cache is one flat file so that it can be mapped and read
// sequentially; metadata is decoded lazily per image, so opening a
// million-image directory costs 8 bytes per image, not the whole metadata.
const (
	ManifestFile = "manifest.json"
	ImagesFile   = "images.u8"
	MetaFile     = "meta.jsonl"
	MetaIndex    = "meta.idx"
	LabelsFile   = "labels.i32"
	ThumbsFile   = "thumbs.jpg"
	ThumbsIndex  = "thumbs.idx"
)

// DirFormat and DirVersion identify the directory format in the manifest.
const (
	DirFormat  = "deepercluster-dataset"
	DirVersion = 1
)

// TempMarker is in the name of a dataset directory under construction
// ("<out>.tmp-*"): OpenDir refuses such a directory, and a walk over a
// folder that holds a dataset directory (a folder of photos with its cache)
// skips it.
const TempMarker = ".tmp-"

// ErrIncomplete is wrapped by OpenDir when a directory is not a finished
// dataset (no manifest, a partial manifest, an unfinished ingest, sizes
// that do not match).
var ErrIncomplete = errors.New("incomplete dataset directory")

// Manifest describes a dataset directory: what it holds and what went wrong
// while building it.
type Manifest struct {
	Format     string `json:"format"`
	Version    int    `json:"version"`
	Images     int    `json:"images"`
	Resolution int    `json:"resolution"`
	Channels   int    `json:"channels"`
	Labels     bool   `json:"labels"`
	// ThumbPx is the longest side of the display copies (thumbs.jpg);
	// 0 when the directory has none.
	ThumbPx int `json:"thumb_px,omitempty"`
	// LabelNames are the names of the label values, where a metadata
	// table gave labels as names (label i is LabelNames[i]).
	LabelNames []string `json:"label_names,omitempty"`
	// Source names the inputs the directory was built from.
	Source map[string]string `json:"source,omitempty"`
	// Lines is the number of metadata lines read, BadLines those skipped.
	Lines    int `json:"lines"`
	BadLines int `json:"bad_lines"`
	// MissingImages counts records skipped for want of a decodable image
	// (CorruptImages of them had a file that did not decode).
	MissingImages   int `json:"missing_images"`
	CorruptImages   int `json:"corrupt_images"`
	AutoTagLines    int `json:"autotag_lines,omitempty"`
	BadAutoTagLines int `json:"bad_autotag_lines,omitempty"`
	// Folder ingest: image files found, table rows naming no file found
	// (MissingFiles), image files no row names (FilesWithoutRow; they are
	// kept, with the tags the file and its folders give), and files
	// skipped for an extension that is not an image or a symlink that
	// leaves the folder.
	ImageFiles      int `json:"image_files,omitempty"`
	MissingFiles    int `json:"missing_files,omitempty"`
	FilesWithoutRow int `json:"files_without_row,omitempty"`
	SkippedFiles    int `json:"skipped_files,omitempty"`
	// Problems are the first bad lines and images, with file and line.
	Problems []string                 `json:"problems"`
	TopTags  []deepercluster.TagCount `json:"top_tags"`
	// Files maps each data file to its size, checked on open.
	Files   map[string]int64 `json:"files"`
	Created time.Time        `json:"created"`
}

// Entry is one image's record in a dataset directory besides its pixels.
type Entry struct {
	Meta deepercluster.Meta
	// Label is the ground-truth class, used when HasLabel is set.
	Label    int
	HasLabel bool
	// SourceLine is the metadata line the entry came from, 0 if none.
	SourceLine int
	// URL is where the original image was downloaded from, if known.
	URL string
	// Thumb is the display copy as JPEG bytes; either every entry of a
	// directory has one or none has (DirWriter.SetThumbPx).
	Thumb []byte
}

// metaJSON is the on-disk form of an Entry's metadata.
type metaJSON struct {
	ID          string            `json:"id"`
	Hash        string            `json:"hash,omitempty"`
	User        string            `json:"user,omitempty"`
	Title       string            `json:"title,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	MachineTags []string          `json:"machine_tags,omitempty"`
	AutoTags    []autoTagJSON     `json:"autotags,omitempty"`
	Taken       string            `json:"taken,omitempty"`
	Device      string            `json:"device,omitempty"`
	Line        int               `json:"line,omitempty"`
	URL         string            `json:"url,omitempty"`
	File        string            `json:"file,omitempty"`
	Extra       map[string]string `json:"extra,omitempty"`
}

type autoTagJSON struct {
	Concept string  `json:"c"`
	Prob    float32 `json:"p"`
}

// DirWriter builds a dataset directory atomically: everything goes into
// a temporary sibling directory, and Commit fsyncs it, writes the manifest
// last and renames it into place. A crash before Commit returns leaves at
// most a "<out>.tmp-*" directory, which OpenDir refuses.
type DirWriter struct {
	out, tmp string
	res      int
	replace  bool

	imagesF, metaF *os.File
	images, meta   *bufio.Writer
	offsets        []uint64
	// Display copies, when SetThumbPx was called.
	thumbPx      int
	thumbsF      *os.File
	thumbs       *bufio.Writer
	thumbOffsets []uint64
	labels       []int32
	hasLabels    bool
	tags         map[string]int
	seen         map[string]bool // tags of the current entry, reused
	done         bool
}

// CreateDir starts a dataset directory at out for images of side res.
// It fails if out exists, unless replace is set (the old directory is then
// swapped out only when the new one is complete).
func CreateDir(out string, res int, replace bool) (*DirWriter, error) {
	if res < 1 || res > deepercluster.MaxResolution {
		return nil, fmt.Errorf("resolution %d: must be in [1, %d]", res, deepercluster.MaxResolution)
	}
	out = filepath.Clean(out)
	if _, err := os.Stat(out); err == nil && !replace {
		return nil, fmt.Errorf("output %s already exists (remove it or ask to replace it)", out)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("output %s: %w", out, err)
	}
	parent := filepath.Dir(out)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", parent, err)
	}
	tmp, err := os.MkdirTemp(parent, filepath.Base(out)+TempMarker)
	if err != nil {
		return nil, fmt.Errorf("create temporary directory beside %s: %w", out, err)
	}
	// MkdirTemp makes it private; the finished dataset is an ordinary directory.
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("create %s: %w", tmp, err)
	}
	w := &DirWriter{out: out, tmp: tmp, res: res, replace: replace, offsets: []uint64{0},
		tags: map[string]int{}, seen: map[string]bool{}}
	if w.imagesF, err = os.Create(filepath.Join(tmp, ImagesFile)); err == nil {
		w.metaF, err = os.Create(filepath.Join(tmp, MetaFile))
	}
	if err != nil {
		w.Abort()
		return nil, fmt.Errorf("create dataset files in %s: %w", tmp, err)
	}
	w.images = bufio.NewWriterSize(w.imagesF, 1<<20)
	w.meta = bufio.NewWriterSize(w.metaF, 1<<20)
	return w, nil
}

// TempDir is where the directory is being built.
func (w *DirWriter) TempDir() string { return w.tmp }

// Len is the number of entries added so far.
func (w *DirWriter) Len() int { return len(w.offsets) - 1 }

// SetThumbPx makes the directory keep a display copy of every image, with
// a longest side of at most px: every Add must then carry Entry.Thumb.
// It must be called before the first Add.
func (w *DirWriter) SetThumbPx(px int) error {
	if w.done || w.Len() > 0 || w.thumbsF != nil {
		return errors.New("SetThumbPx must come before the first Add")
	}
	if px < 1 || px > MaxThumbPx {
		return fmt.Errorf("display size %d: must be in [1, %d]", px, MaxThumbPx)
	}
	f, err := os.Create(filepath.Join(w.tmp, ThumbsFile))
	if err != nil {
		return fmt.Errorf("create dataset files in %s: %w", w.tmp, err)
	}
	w.thumbPx, w.thumbsF = px, f
	w.thumbs = bufio.NewWriterSize(f, 1<<20)
	w.thumbOffsets = []uint64{0}
	return nil
}

// MaxThumbPx is the largest display copy a dataset directory keeps.
const MaxThumbPx = 1024

// Add appends one image (res*res*3 bytes, RGB HWC) and its entry.
func (w *DirWriter) Add(img []byte, e Entry) error {
	if w.done {
		return errors.New("dataset writer already committed or aborted")
	}
	if len(img) != deepercluster.ImageBytes(w.res) {
		return fmt.Errorf("image of %d bytes, want %d", len(img), deepercluster.ImageBytes(w.res))
	}
	if (w.thumbs != nil) != (len(e.Thumb) > 0) {
		return fmt.Errorf("photo %s: a display copy is needed exactly when the directory keeps them", e.Meta.PhotoID)
	}
	if w.thumbs != nil {
		if _, err := w.thumbs.Write(e.Thumb); err != nil {
			return fmt.Errorf("write %s: %w", ThumbsFile, err)
		}
		w.thumbOffsets = append(w.thumbOffsets, w.thumbOffsets[len(w.thumbOffsets)-1]+uint64(len(e.Thumb)))
	}
	if _, err := w.images.Write(img); err != nil {
		return fmt.Errorf("write %s: %w", ImagesFile, err)
	}
	b, err := json.Marshal(toJSON(e))
	if err != nil {
		return fmt.Errorf("encode metadata of photo %s: %w", e.Meta.PhotoID, err)
	}
	b = append(b, '\n')
	if _, err := w.meta.Write(b); err != nil {
		return fmt.Errorf("write %s: %w", MetaFile, err)
	}
	w.offsets = append(w.offsets, w.offsets[len(w.offsets)-1]+uint64(len(b)))
	label := int32(-1)
	if e.HasLabel {
		label = int32(e.Label)
		w.hasLabels = true
	}
	w.labels = append(w.labels, label)
	clear(w.seen)
	for _, t := range e.Meta.Tags {
		if !w.seen[t] {
			w.seen[t] = true
			w.tags[t]++
		}
	}
	return nil
}

// topTagsKept is how many top tags the manifest lists.
const topTagsKept = 100

// Commit finishes the directory: m supplies the counts of bad input and the
// sources; Commit fills in the rest (format, size, labels, top tags, file
// sizes), fsyncs, writes the manifest last and renames the directory into
// place. It returns the manifest as written.
func (w *DirWriter) Commit(m Manifest) (Manifest, error) {
	if w.done {
		return m, errors.New("dataset writer already committed or aborted")
	}
	fail := func(err error) (Manifest, error) {
		w.Abort()
		return m, err
	}
	if err := w.images.Flush(); err != nil {
		return fail(fmt.Errorf("write %s: %w", ImagesFile, err))
	}
	if err := w.meta.Flush(); err != nil {
		return fail(fmt.Errorf("write %s: %w", MetaFile, err))
	}
	files := []*os.File{w.imagesF, w.metaF}
	if w.thumbs != nil {
		if err := w.thumbs.Flush(); err != nil {
			return fail(fmt.Errorf("write %s: %w", ThumbsFile, err))
		}
		files = append(files, w.thumbsF)
	}
	for _, f := range files {
		err := f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fail(fmt.Errorf("write %s: %w", f.Name(), err))
		}
	}
	w.imagesF, w.metaF, w.thumbsF = nil, nil, nil
	idx := offsetBytes(w.offsets)
	if err := atomicfile.Write(filepath.Join(w.tmp, MetaIndex), idx); err != nil {
		return fail(err)
	}
	var tidx []byte
	if w.thumbs != nil {
		tidx = offsetBytes(w.thumbOffsets)
		if err := atomicfile.Write(filepath.Join(w.tmp, ThumbsIndex), tidx); err != nil {
			return fail(err)
		}
	}
	if w.hasLabels {
		lb := make([]byte, 4*len(w.labels))
		for i, l := range w.labels {
			binary.LittleEndian.PutUint32(lb[4*i:], uint32(l))
		}
		if err := atomicfile.Write(filepath.Join(w.tmp, LabelsFile), lb); err != nil {
			return fail(err)
		}
	}
	n := w.Len()
	m.Format, m.Version = DirFormat, DirVersion
	m.Images, m.Resolution, m.Channels, m.Labels = n, w.res, deepercluster.Channels, w.hasLabels
	m.TopTags = topOfCounts(w.tags, topTagsKept)
	if m.Problems == nil {
		m.Problems = []string{}
	}
	if m.Created.IsZero() {
		m.Created = time.Now().UTC()
	}
	m.Files = map[string]int64{
		ImagesFile: int64(n) * int64(deepercluster.ImageBytes(w.res)),
		MetaFile:   int64(w.offsets[n]),
		MetaIndex:  int64(len(idx)),
	}
	if w.hasLabels {
		m.Files[LabelsFile] = int64(4 * n)
	}
	if w.thumbs != nil {
		m.ThumbPx = w.thumbPx
		m.Files[ThumbsFile] = int64(w.thumbOffsets[n])
		m.Files[ThumbsIndex] = int64(len(tidx))
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fail(fmt.Errorf("encode manifest: %w", err))
	}
	// The manifest goes in last, itself through a temporary name, so a
	// directory never holds a half-written manifest; atomicfile.Write also
	// syncs w.tmp, which makes every file's name in it durable.
	if err := atomicfile.Write(filepath.Join(w.tmp, ManifestFile), append(mb, '\n')); err != nil {
		return fail(fmt.Errorf("write manifest: %w", err))
	}
	var old string
	if w.replace {
		if _, err := os.Stat(w.out); err == nil {
			old = w.tmp + ".old"
			if err := os.Rename(w.out, old); err != nil {
				return fail(fmt.Errorf("move old %s aside: %w", w.out, err))
			}
		}
	}
	if err := os.Rename(w.tmp, w.out); err != nil {
		if old != "" {
			_ = os.Rename(old, w.out)
		}
		return fail(fmt.Errorf("move dataset into %s: %w", w.out, err))
	}
	w.done = true
	if err := atomicfile.SyncDir(filepath.Dir(w.out)); err != nil {
		return m, err
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			return m, fmt.Errorf("remove old dataset %s: %w", old, err)
		}
	}
	return m, nil
}

// Abort removes the temporary directory; the output is left untouched.
// It is safe to call after Commit (it then does nothing).
func (w *DirWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	for _, f := range []*os.File{w.imagesF, w.metaF, w.thumbsF} {
		if f != nil {
			f.Close()
		}
	}
	return os.RemoveAll(w.tmp)
}

// offsetBytes is offs as little-endian uint64s.
func offsetBytes(offs []uint64) []byte {
	b := make([]byte, 8*len(offs))
	for i, o := range offs {
		binary.LittleEndian.PutUint64(b[8*i:], o)
	}
	return b
}

func toJSON(e Entry) metaJSON {
	m := e.Meta
	j := metaJSON{ID: m.PhotoID, Hash: m.Hash, User: m.User, Title: m.Title, Description: m.Description,
		Tags: m.Tags, MachineTags: m.MachineTags, Device: m.Device, Line: e.SourceLine, URL: e.URL,
		File: m.File, Extra: m.Extra}
	if !m.Taken.IsZero() {
		j.Taken = m.Taken.UTC().Format(time.RFC3339)
	}
	for _, a := range m.AutoTags {
		j.AutoTags = append(j.AutoTags, autoTagJSON(a))
	}
	return j
}

func fromJSON(j *metaJSON) deepercluster.Meta {
	m := deepercluster.Meta{PhotoID: j.ID, Hash: j.Hash, User: j.User, Title: j.Title, Description: j.Description,
		Tags: j.Tags, MachineTags: j.MachineTags, Device: j.Device, File: j.File, Extra: j.Extra}
	if j.Taken != "" {
		m.Taken, _ = time.Parse(time.RFC3339, j.Taken)
	}
	for _, a := range j.AutoTags {
		m.AutoTags = append(m.AutoTags, deepercluster.AutoTag(a))
	}
	return m
}

// Dir is a dataset directory opened for reading. The image cache and the
// metadata are mapped into memory (read from disk where mapping is not
// available); all methods are safe for concurrent use.
type Dir struct {
	path     string
	manifest Manifest
	images   []byte
	meta     []byte
	offsets  []uint64
	labels   []int32
	thumbs   []byte   // display copies, mapped (nil without)
	thumbIdx []uint64 // Images+1 offsets into thumbs
	unmap    []func() error
}

var (
	_ deepercluster.Dataset       = (*Dir)(nil)
	_ deepercluster.DisplayImages = (*Dir)(nil)
)

// OpenDir opens a dataset directory written by DirWriter. It refuses a
// directory without a complete manifest (a killed or running ingest) and
// one whose files do not have the sizes the manifest records.
func OpenDir(dir string) (*Dir, error) {
	dir = filepath.Clean(dir)
	if strings.Contains(filepath.Base(dir), TempMarker) {
		return nil, fmt.Errorf("%w: %s is an unfinished ingest (temporary directory)", ErrIncomplete, dir)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("open dataset: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("open dataset %s: not a directory", dir)
	}
	mb, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s has no %s (ingest killed or not finished?)", ErrIncomplete, dir, ManifestFile)
	}
	if err != nil {
		return nil, fmt.Errorf("open dataset %s: %w", dir, err)
	}
	d := &Dir{path: dir}
	if err := json.Unmarshal(mb, &d.manifest); err != nil {
		return nil, fmt.Errorf("%w: %s: bad %s: %v", ErrIncomplete, dir, ManifestFile, err)
	}
	m := &d.manifest
	if m.Format != DirFormat {
		return nil, fmt.Errorf("%s/%s: format %q, want %q", dir, ManifestFile, m.Format, DirFormat)
	}
	if m.Version != DirVersion {
		return nil, fmt.Errorf("%s/%s: format version %d, this program reads %d", dir, ManifestFile, m.Version, DirVersion)
	}
	if m.Images < 0 || m.Resolution < 1 || m.Resolution > deepercluster.MaxResolution || m.Channels != deepercluster.Channels {
		return nil, fmt.Errorf("%s/%s: bad shape: %d images of %dx%dx%d", dir, ManifestFile, m.Images, m.Resolution, m.Resolution, m.Channels)
	}
	want := map[string]int64{
		ImagesFile: int64(m.Images) * int64(deepercluster.ImageBytes(m.Resolution)),
		MetaIndex:  int64(8 * (m.Images + 1)),
	}
	if m.Labels {
		want[LabelsFile] = int64(4 * m.Images)
	}
	if m.ThumbPx < 0 || m.ThumbPx > MaxThumbPx {
		return nil, fmt.Errorf("%s/%s: bad thumb_px %d", dir, ManifestFile, m.ThumbPx)
	}
	if m.ThumbPx > 0 {
		want[ThumbsIndex] = int64(8 * (m.Images + 1))
		if _, ok := m.Files[ThumbsFile]; !ok {
			return nil, fmt.Errorf("%w: %s/%s records thumb_px but no %s", ErrIncomplete, dir, ManifestFile, ThumbsFile)
		}
	}
	for name, size := range want {
		if got, ok := m.Files[name]; !ok || got != size {
			return nil, fmt.Errorf("%w: %s/%s: manifest records %d bytes, want %d", ErrIncomplete, dir, ManifestFile, got, size)
		}
	}
	for name, size := range m.Files {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrIncomplete, dir, err)
		}
		if st.Size() != size {
			return nil, fmt.Errorf("%w: %s/%s has %d bytes, manifest says %d", ErrIncomplete, dir, name, st.Size(), size)
		}
	}
	if d.offsets, err = readOffsets(dir, MetaIndex, MetaFile, m.Images, m.Files[MetaFile]); err != nil {
		return nil, err
	}
	if m.ThumbPx > 0 {
		if d.thumbIdx, err = readOffsets(dir, ThumbsIndex, ThumbsFile, m.Images, m.Files[ThumbsFile]); err != nil {
			return nil, err
		}
	}
	if m.Labels {
		lb, err := os.ReadFile(filepath.Join(dir, LabelsFile))
		if err != nil {
			return nil, fmt.Errorf("open dataset %s: %w", dir, err)
		}
		d.labels = make([]int32, m.Images)
		for i := range d.labels {
			d.labels[i] = int32(binary.LittleEndian.Uint32(lb[4*i:]))
		}
	}
	for _, f := range []struct {
		name string
		dst  *[]byte
	}{{ImagesFile, &d.images}, {MetaFile, &d.meta}, {ThumbsFile, &d.thumbs}} {
		if f.name == ThumbsFile && m.ThumbPx == 0 {
			continue
		}
		b, unmap, err := mapFile(filepath.Join(dir, f.name))
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("open dataset %s: %w", dir, err)
		}
		*f.dst = b
		d.unmap = append(d.unmap, unmap)
	}
	return d, nil
}

// Close releases the mapped files; the Dir must not be used afterwards.
func (d *Dir) Close() error {
	var errs []error
	for _, u := range d.unmap {
		errs = append(errs, u())
	}
	d.unmap = nil
	d.images, d.meta, d.thumbs = nil, nil, nil
	return errors.Join(errs...)
}

// readOffsets reads an index of n+1 little-endian uint64 offsets that must
// grow and span size bytes of the data file it indexes.
func readOffsets(dir, name, data string, n int, size int64) ([]uint64, error) {
	idx, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("open dataset %s: %w", dir, err)
	}
	if len(idx) != 8*(n+1) {
		return nil, fmt.Errorf("%w: %s/%s has %d bytes, want %d", ErrIncomplete, dir, name, len(idx), 8*(n+1))
	}
	offs := make([]uint64, n+1)
	for i := range offs {
		offs[i] = binary.LittleEndian.Uint64(idx[8*i:])
		if i > 0 && offs[i] < offs[i-1] {
			return nil, fmt.Errorf("%s/%s: offsets go backwards at entry %d", dir, name, i)
		}
	}
	if offs[0] != 0 || int64(offs[n]) != size {
		return nil, fmt.Errorf("%s/%s: offsets do not span %s", dir, name, data)
	}
	return offs, nil
}

// DisplaySize implements deepercluster.DisplayImages: the longest side of
// the display copies, 0 when the directory keeps none.
func (d *Dir) DisplaySize() int { return d.manifest.ThumbPx }

// DisplayJPEG implements deepercluster.DisplayImages. The bytes are the
// mapped file's: callers must not modify them.
func (d *Dir) DisplayJPEG(i int) ([]byte, error) {
	if d.manifest.ThumbPx == 0 {
		return nil, fmt.Errorf("dataset %s keeps no display copies", d.path)
	}
	if i < 0 || i >= d.manifest.Images {
		return nil, fmt.Errorf("display copy %d out of range [0, %d)", i, d.manifest.Images)
	}
	if d.thumbs == nil {
		return nil, fmt.Errorf("display copy %d: dataset %s is closed", i, d.path)
	}
	return d.thumbs[d.thumbIdx[i]:d.thumbIdx[i+1]:d.thumbIdx[i+1]], nil
}

// Path is the directory the dataset was opened from.
func (d *Dir) Path() string { return d.path }

// Manifest returns what the directory's manifest records.
func (d *Dir) Manifest() Manifest { return d.manifest }

// Len implements deepercluster.Dataset.
func (d *Dir) Len() int { return d.manifest.Images }

// Resolution implements deepercluster.Dataset.
func (d *Dir) Resolution() int { return d.manifest.Resolution }

// Image implements deepercluster.Dataset.
func (d *Dir) Image(i int, dst []byte) error {
	if i < 0 || i >= d.manifest.Images {
		return fmt.Errorf("image %d out of range [0, %d)", i, d.manifest.Images)
	}
	n := deepercluster.ImageBytes(d.manifest.Resolution)
	if len(dst) < n {
		return fmt.Errorf("image %d: destination holds %d bytes, want %d", i, len(dst), n)
	}
	if d.images == nil {
		return fmt.Errorf("image %d: dataset %s is closed", i, d.path)
	}
	copy(dst[:n], d.images[i*n:(i+1)*n])
	return nil
}

// Meta implements deepercluster.Dataset; metadata that does not decode
// gives an empty Meta (MetaErr says why).
func (d *Dir) Meta(i int) deepercluster.Meta {
	m, _ := d.MetaErr(i)
	return m
}

// MetaErr is Meta with the reason a record could not be read.
func (d *Dir) MetaErr(i int) (deepercluster.Meta, error) {
	if i < 0 || i >= d.manifest.Images {
		return deepercluster.Meta{}, fmt.Errorf("metadata %d out of range [0, %d)", i, d.manifest.Images)
	}
	if d.meta == nil {
		return deepercluster.Meta{}, fmt.Errorf("metadata %d: dataset %s is closed", i, d.path)
	}
	var j metaJSON
	if err := json.Unmarshal(d.meta[d.offsets[i]:d.offsets[i+1]], &j); err != nil {
		return deepercluster.Meta{}, fmt.Errorf("%s/%s entry %d: %w", d.path, MetaFile, i, err)
	}
	return fromJSON(&j), nil
}

// SourceLine is the metadata line image i came from (0 if unknown).
func (d *Dir) SourceLine(i int) int {
	if i < 0 || i >= d.manifest.Images || d.meta == nil {
		return 0
	}
	var j struct {
		Line int `json:"line"`
	}
	_ = json.Unmarshal(d.meta[d.offsets[i]:d.offsets[i+1]], &j)
	return j.Line
}

// Label implements deepercluster.Dataset.
func (d *Dir) Label(i int) (int, bool) {
	if d.labels == nil || i < 0 || i >= len(d.labels) || d.labels[i] < 0 {
		return 0, false
	}
	return int(d.labels[i]), true
}

// TopTags returns the manifest's top tags when it lists enough; TopTags
// (the function) uses it to avoid decoding every record.
func (d *Dir) TopTags(n int) ([]deepercluster.TagCount, bool) {
	if n > len(d.manifest.TopTags) && len(d.manifest.TopTags) >= topTagsKept {
		return nil, false
	}
	return slices.Clone(d.manifest.TopTags[:min(n, len(d.manifest.TopTags))]), true
}

// topOfCounts sorts tag counts, most frequent first, ties by tag.
func topOfCounts(counts map[string]int, n int) []deepercluster.TagCount {
	out := make([]deepercluster.TagCount, 0, len(counts))
	for t, c := range counts {
		out = append(out, deepercluster.TagCount{Tag: t, Count: c})
	}
	slices.SortFunc(out, func(a, b deepercluster.TagCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return strings.Compare(a.Tag, b.Tag)
	})
	if n >= 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

package folder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset"
	"github.com/deepercluster/deepercluster/dataset/imagefile"
)

// DefaultThumbPx is the longest side of the display copies a folder ingest
// keeps unless told otherwise.
const DefaultThumbPx = 256

// MaxPixels is the largest image, in pixels, a folder ingest decodes; a
// larger one is counted as unreadable rather than risk the memory.
const MaxPixels = 100_000_000

// imageExts are the file extensions taken as images (lower case).
var imageExts = map[string]bool{".jpg": true, ".jpeg": true, ".jpe": true, ".png": true, ".gif": true, ".webp": true}

// Config names the inputs and output of Ingest.
type Config struct {
	// Images is the folder of photos, walked recursively.
	Images string
	// Meta is an optional metadata table (ReadMetaTable).
	Meta string
	// Out is the dataset directory to create.
	Out string
	// Size is the model resolution images are cut down to.
	Size int
	// ThumbPx is the longest side of the display copies kept beside the
	// training images (0: DefaultThumbPx); images are never enlarged.
	ThumbPx int
	// Replace allows replacing an existing dataset at Out.
	Replace bool
	// Workers decode images in parallel; 0 means one per CPU.
	Workers int
	// Progress, when set, is called now and then from Ingest's
	// goroutine with the image files done, their total and the images
	// kept so far.
	Progress func(done, total, images int)
}

// folderFile is one image file found by a folder walk.
type folderFile struct {
	rel     string // relative path, forward slashes
	size    int64
	modNano int64
}

// folderScan is what a walk of an images folder found.
type folderScan struct {
	root     string
	files    []folderFile
	skipped  int // files that are not images
	problems dataset.Problems
}

// IsImageFolder tells whether path is a plain folder (not a dataset
// directory) that holds at least one image file somewhere below it.
func IsImageFolder(dir string) bool {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return false
	}
	if _, err := os.Stat(filepath.Join(dir, dataset.ManifestFile)); err == nil {
		return false
	}
	if dataset.IsSharded(dir) {
		return false
	}
	found := errors.New("found")
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && p != dir && strings.HasPrefix(d.Name(), ".") {
			return fs.SkipDir
		}
		if !d.IsDir() && imageExts[strings.ToLower(filepath.Ext(p))] {
			return found
		}
		return nil
	})
	return errors.Is(err, found)
}

// scanFolder walks root in lexical order and lists its image files.
// Hidden folders (".name") and the folder skip (an ingest's output inside
// the images folder) are not entered. A symlink is followed only to a file
// inside root; one that leaves root or dangles is counted as a problem;
// symlinked folders are not entered (what they hold is inside root anyway).
func scanFolder(ctx context.Context, root, skip string) (*folderScan, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("images folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("images folder %s: not a directory", root)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("images folder: %w", err)
	}
	if realRoot, err = filepath.Abs(realRoot); err != nil {
		return nil, fmt.Errorf("images folder: %w", err)
	}
	skipAbs := ""
	if skip != "" {
		skipAbs, _ = filepath.Abs(skip)
	}
	s := &folderScan{root: root}
	n := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if n++; n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if p == root {
				return err
			}
			s.problems.Add(fmt.Errorf("%s: %w", p, err))
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if p != root && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			if a, _ := filepath.Abs(p); skipAbs != "" && (a == skipAbs || strings.HasPrefix(a, skipAbs+dataset.TempMarker)) {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !imageExts[strings.ToLower(filepath.Ext(p))] {
			s.skipped++
			return nil
		}
		info, err := os.Stat(p) // follows a symlink
		if d.Type()&fs.ModeSymlink != 0 {
			target, terr := filepath.EvalSymlinks(p)
			if terr == nil {
				target, terr = filepath.Abs(target)
			}
			switch {
			case terr != nil || err != nil:
				s.problems.Add(fmt.Errorf("%s: dangling symlink", rel))
				return nil
			case info.IsDir():
				return nil
			case target != realRoot && !strings.HasPrefix(target, realRoot+string(filepath.Separator)):
				s.problems.Add(fmt.Errorf("%s: symlink to %s leaves the images folder: not followed", rel, target))
				return nil
			}
		} else if err != nil {
			s.problems.Add(fmt.Errorf("%s: %w", rel, err))
			return nil
		}
		if !info.Mode().IsRegular() {
			s.skipped++
			return nil
		}
		s.files = append(s.files, folderFile{rel: rel, size: info.Size(), modNano: info.ModTime().UnixNano()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk images folder %s: %w", root, err)
	}
	return s, nil
}

// fingerprint identifies the folder's content as the walk saw it (paths,
// sizes, modification times), the table's and the ingest settings, so
// that a cache built from it can be reused while nothing changed.
func (s *folderScan) fingerprint(cfg Config) string {
	h := sha256.New()
	fmt.Fprintf(h, "size=%d thumb=%d\n", cfg.Size, cfg.ThumbPx)
	for _, f := range s.files {
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", f.rel, f.size, f.modNano)
	}
	if cfg.Meta != "" {
		if st, err := os.Stat(cfg.Meta); err == nil {
			abs, _ := filepath.Abs(cfg.Meta)
			fmt.Fprintf(h, "meta %s\x00%d\x00%d\n", abs, st.Size(), st.ModTime().UnixNano())
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// folderTags are the tags a file's folders give it: "holidays/2019/beach/x.jpg"
// gives holidays, 2019, beach.
func folderTags(rel string) []string {
	dir := path.Dir(rel)
	if dir == "." {
		return nil
	}
	return strings.Split(dir, "/")
}

// Ingest turns a folder of images, and optionally a metadata table
// beside it, into a dataset directory with display copies. Every image
// file becomes an entry in path order; its id is the table's id or else
// its path relative to the folder; its tags are, in this order and each
// once, the table's, the keywords embedded in the file (ReadKeywords) and
// its folder names. Table rows whose file is missing, files without a row,
// unreadable or corrupt files and bad table lines are counted and the
// first of each kept in the manifest's problems; none of them stops the
// ingest. Images are decoded in parallel in bounded memory (a fixed window
// of images in flight). On error or cancellation nothing is left at Out.
func Ingest(ctx context.Context, cfg Config) (dataset.Manifest, error) {
	if cfg.Images == "" || cfg.Out == "" {
		return dataset.Manifest{}, errors.New("folder ingest needs an images folder and an output directory")
	}
	scan, err := scanFolder(ctx, cfg.Images, cfg.Out)
	if err != nil {
		return dataset.Manifest{}, err
	}
	return ingestScanned(ctx, cfg, scan)
}

// matched is one image file with the table row that describes it.
type matched struct {
	file folderFile
	row  *TableRow
}

func ingestScanned(ctx context.Context, cfg Config, scan *folderScan) (dataset.Manifest, error) {
	if cfg.ThumbPx == 0 {
		cfg.ThumbPx = DefaultThumbPx
	}
	if cfg.ThumbPx < 1 || cfg.ThumbPx > dataset.MaxThumbPx {
		return dataset.Manifest{}, fmt.Errorf("--thumb-px %d: must be in [1, %d]", cfg.ThumbPx, dataset.MaxThumbPx)
	}
	var m dataset.Manifest
	var rows []TableRow
	var bad dataset.Problems
	if cfg.Meta != "" {
		var err error
		if rows, bad, err = ReadMetaTable(ctx, cfg.Meta); err != nil {
			return dataset.Manifest{}, err
		}
	}
	work, tableProblems := matchRows(cfg.Meta, scan.files, rows, &m)

	w, err := dataset.CreateDir(cfg.Out, cfg.Size, cfg.Replace)
	if err != nil {
		return dataset.Manifest{}, err
	}
	defer w.Abort() // a no-op after Commit
	if err := w.SetThumbPx(cfg.ThumbPx); err != nil {
		return dataset.Manifest{}, err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type job struct {
		seq int
		m   matched
	}
	type result struct {
		seq int
		m   matched
		img []byte
		e   dataset.Entry
		kwErr,
		err error
	}
	// window bounds the images between the walk and the writer: a slow
	// image cannot make the collector hold the rest.
	window := make(chan struct{}, 16*workers)
	jobs := make(chan job, 2*workers)
	results := make(chan result, 2*workers)
	go func() {
		defer close(jobs)
		for i, mt := range work {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{i, mt}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var decoders sync.WaitGroup
	for range workers {
		decoders.Go(func() {
			for j := range jobs {
				r := result{seq: j.seq, m: j.m, img: make([]byte, deepercluster.ImageBytes(cfg.Size))}
				r.e.Thumb, r.e.Meta.Tags, r.kwErr, r.err = loadFolderImage(filepath.Join(scan.root, filepath.FromSlash(j.m.file.rel)), cfg.Size, cfg.ThumbPx, r.img)
				select {
				case results <- r:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	go func() {
		decoders.Wait()
		close(results)
	}()

	var imageProblems, kwProblems dataset.Problems
	labels := map[string]int{}
	var labelNames []string
	var progress func(int)
	if cfg.Progress != nil {
		progress = func(done int) { cfg.Progress(done, len(work), w.Len()) }
	}
	writeErr := dataset.InOrder(results, func(r result) int { return r.seq }, func(r result) error {
		<-window
		rel := r.m.file.rel
		if r.err != nil {
			m.MissingImages++
			if errors.Is(r.err, imagefile.ErrImageCorrupt) {
				m.CorruptImages++
			}
			imageProblems.Add(fmt.Errorf("%s: %w", rel, r.err))
			return nil
		}
		if r.kwErr != nil {
			kwProblems.Add(fmt.Errorf("%s: embedded keywords: %w", rel, r.kwErr))
		}
		e := dataset.Entry{Thumb: r.e.Thumb}
		e.Meta.PhotoID, e.Meta.File = rel, rel
		var tags []string
		if row := r.m.row; row != nil {
			if row.ID != "" {
				e.Meta.PhotoID = row.ID
			}
			e.Meta.Title, e.Meta.Description, e.Meta.User = row.Title, row.Description, row.User
			e.Meta.Taken, e.Meta.Extra, e.SourceLine = row.Date, row.Extra, row.Line
			tags = append(tags, row.Tags...)
			if row.Label != "" {
				l, ok := labels[row.Label]
				if !ok {
					l = len(labelNames)
					labels[row.Label] = l
					labelNames = append(labelNames, row.Label)
				}
				e.Label, e.HasLabel = l, true
			}
		}
		tags = append(tags, r.e.Meta.Tags...)
		tags = append(tags, folderTags(rel)...)
		e.Meta.Tags = uniqueTags(tags)
		if err := w.Add(r.img, e); err != nil {
			cancel()
			return err
		}
		return nil
	}, progress)
	switch {
	case writeErr != nil:
		return dataset.Manifest{}, writeErr
	case ctx.Err() != nil:
		return dataset.Manifest{}, fmt.Errorf("ingest %s: %w", cfg.Images, context.Cause(ctx))
	}
	if cfg.Progress != nil {
		cfg.Progress(len(work), len(work), w.Len())
	}
	m.ImageFiles = len(scan.files)
	m.SkippedFiles = scan.skipped + scan.problems.Count
	m.Lines, m.BadLines = len(rows)+bad.Count, bad.Count
	m.LabelNames = labelNames
	abs, _ := filepath.Abs(cfg.Images)
	m.Source = map[string]string{"images": abs, "fingerprint": scan.fingerprint(cfg)}
	if cfg.Meta != "" {
		m.Source["meta"], _ = filepath.Abs(cfg.Meta)
	}
	m.Problems = []string{}
	for _, p := range [][]error{bad.First, tableProblems.First, imageProblems.First, kwProblems.First, scan.problems.First} {
		for _, e := range p {
			m.Problems = append(m.Problems, e.Error())
		}
	}
	return w.Commit(m)
}

// matchRows pairs image files with table rows: by the row's file, or else
// by its id against the file's path or name without extension. It counts
// rows without a file and files without a row into m.
func matchRows(table string, files []folderFile, rows []TableRow, m *dataset.Manifest) ([]matched, dataset.Problems) {
	var probs dataset.Problems
	unit := "line"
	if strings.EqualFold(filepath.Ext(table), ".parquet") {
		unit = "row"
	}
	work := make([]matched, len(files))
	for i, f := range files {
		work[i].file = f
	}
	if table == "" {
		return work, probs
	}
	byPath := make(map[string]int, len(files))
	// byStem: the files an id names, by path without extension and by
	// name without extension; more than one is ambiguous (a.jpg and a.png).
	byStem := make(map[string][]int, len(files))
	for i, f := range files {
		byPath[f.rel] = i
		stem := strings.TrimSuffix(f.rel, path.Ext(f.rel))
		byStem[stem] = append(byStem[stem], i)
		if base := path.Base(stem); base != stem {
			byStem[base] = append(byStem[base], i)
		}
	}
	for k := range rows {
		r := &rows[k]
		i, ok := -1, false
		if r.File != "" {
			i, ok = byPath[r.File]
		} else if c := byStem[r.ID]; len(c) > 1 {
			names := make([]string, 0, min(len(c), 3))
			for _, j := range c[:min(len(c), 3)] {
				names = append(names, files[j].rel)
			}
			more := ""
			if len(c) > 3 {
				more = fmt.Sprintf(" and %d more", len(c)-3)
			}
			probs.Add(fmt.Errorf("%s %s %d: field id: %s matches %d images (%s%s): give the row a file column to say which (row ignored)",
				table, unit, r.Line, r.ID, len(c), strings.Join(names, ", "), more))
			continue
		} else if len(c) == 1 {
			i, ok = c[0], true
		}
		switch {
		case !ok:
			m.MissingFiles++
			name := r.File
			if name == "" {
				name = "id " + r.ID
			}
			probs.Add(fmt.Errorf("%s %s %d: field file: %s: no such image in the folder", table, unit, r.Line, name))
		case work[i].row != nil:
			m.MissingFiles++
			probs.Add(fmt.Errorf("%s %s %d: field file: %s already described on %s %d (row ignored)", table, unit, r.Line, files[i].rel, unit, work[i].row.Line))
		default:
			work[i].row = r
		}
	}
	for _, w := range work {
		if w.row == nil {
			m.FilesWithoutRow++
			probs.Add(fmt.Errorf("%s: no row in %s (kept with its folder and embedded tags)", w.file.rel, table))
		}
	}
	return work, probs
}

// uniqueTags keeps the first of tags that differ only in case or
// surrounding space.
func uniqueTags(tags []string) []string {
	seen := make(map[string]bool, len(tags))
	out := tags[:0:0]
	for _, t := range tags {
		t = strings.TrimSpace(t)
		k := strings.ToLower(t)
		if t != "" && !seen[k] {
			seen[k] = true
			out = append(out, t)
		}
	}
	return out
}

// loadFolderImage reads one image file: its model-resolution crop into
// dst, its display copy as JPEG and its embedded keywords. err wraps
// ErrImageCorrupt for a file that does not decode; kwErr is bad embedded
// metadata (the image is still good).
func loadFolderImage(p string, size, thumbPx int, dst []byte) (thumb []byte, keywords []string, kwErr, err error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", imagefile.ErrImageCorrupt, err)
	}
	if cfg.Width*cfg.Height > MaxPixels {
		return nil, nil, nil, fmt.Errorf("%dx%d pixels: larger than %d (not decoded)", cfg.Width, cfg.Height, MaxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", imagefile.ErrImageCorrupt, err)
	}
	if err := imagefile.Thumbnail(img, size, dst); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", imagefile.ErrImageCorrupt, err)
	}
	if thumb, err = imagefile.DisplayJPEG(img, thumbPx); err != nil {
		return nil, nil, nil, err
	}
	kw, kwErr := ReadKeywords(data)
	return thumb, kw.All(), kwErr, nil
}

// Open gives a plain folder of images as a dataset through a cache:
// it reuses the dataset directory at cfg.Out when that was ingested from
// the folder as it is now (the same files, sizes and times, the same table
// and settings), and otherwise ingests the folder into it, replacing an
// older cache only once the new one is complete. ingested tells which.
func Open(ctx context.Context, cfg Config) (d *dataset.Dir, ingested bool, err error) {
	if cfg.ThumbPx == 0 {
		cfg.ThumbPx = DefaultThumbPx
	}
	scan, err := scanFolder(ctx, cfg.Images, cfg.Out)
	if err != nil {
		return nil, false, err
	}
	fp := scan.fingerprint(cfg)
	if d, err := dataset.OpenDir(cfg.Out); err == nil {
		if d.Manifest().Source["fingerprint"] == fp {
			return d, false, nil
		}
		d.Close()
	}
	cfg.Replace = true
	if _, err := ingestScanned(ctx, cfg, scan); err != nil {
		return nil, false, err
	}
	d, err = dataset.OpenDir(cfg.Out)
	return d, true, err
}

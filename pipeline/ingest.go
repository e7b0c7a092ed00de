package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset"
	"github.com/deepercluster/deepercluster/dataset/imagefile"
	"github.com/deepercluster/deepercluster/dataset/yfcc"
)

func init() {
	register.DoFn4x1[context.Context, int, func(string, []byte), func(int, []byte), error](&parseFn{})
	register.DoFn4x1[context.Context, int, func(string, []byte), func(int, []byte), error](&autoTagsFn{})
	register.DoFn4x1[string, func(*[]byte) bool, func(*[]byte) bool, func(string, []byte), error](&joinFn{})
	register.DoFn4x1[context.Context, string, []byte, func(int, []byte), error](&decodeFn{})
	register.DoFn3x1[context.Context, int, func(*[]byte) bool, error](&writeShardFn{})
	register.Emitter2[string, []byte]()
	register.Emitter2[int, []byte]()
	register.Iter1[[]byte]()
}

// IngestConfig names the inputs and output of Ingest; the fields are
// those of yfcc.IngestConfig plus the shards and the runner.
type IngestConfig struct {
	// YFCC is the metadata file (23 or 25 columns).
	YFCC string
	// Images is the folder holding the photos, flat or by hash.
	Images string
	// AutoTags is the optional autotags file.
	AutoTags string
	// Size is the model resolution images are cut down to.
	Size int
	// Out is the sharded dataset to create (a directory).
	Out string
	// Shards is the number of shards; 0 means 4.
	Shards int
	// Replace allows replacing an existing sharded dataset at Out.
	Replace bool
	// Runner is where the pipeline runs.
	Runner Runner
	// Logger gets a line per stage; nil means slog.Default().
	Logger *slog.Logger
}

// Chunk is a byte range of an input file that starts and ends on line
// boundaries, with the number of its first line (1-based).
type Chunk struct {
	Start, End int64
	FirstLine  int
}

// SplitLines cuts the file at path into n chunks of about equal size,
// each beginning at a line start (some may be empty). Line numbers count
// lines as yfcc.Read does, so a chunk's records and bad lines can
// be numbered as in a read of the whole file.
func SplitLines(path string, n int) ([]Chunk, error) {
	if n < 1 {
		return nil, fmt.Errorf("split %s: %d chunks", path, n)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("split: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("split: %w", err)
	}
	size := st.Size()
	chunks := []Chunk{{Start: 0, FirstLine: 1}}
	br := bufio.NewReaderSize(f, 1<<20)
	var off int64
	line := 1 // number of the line starting at off
	for {
		b, err := br.ReadSlice('\n')
		off += int64(len(b))
		if errors.Is(err, bufio.ErrBufferFull) {
			continue // the same line goes on
		}
		if len(b) > 0 || err == nil {
			line++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("split %s: %w", path, err)
		}
		// A new line starts at off: open the next chunk once off reaches its share.
		for len(chunks) < n && off >= int64(len(chunks))*size/int64(n) && off < size {
			chunks[len(chunks)-1].End = off
			chunks = append(chunks, Chunk{Start: off, FirstLine: line})
		}
	}
	chunks[len(chunks)-1].End = size
	for len(chunks) < n {
		chunks = append(chunks, Chunk{Start: size, End: size, FirstLine: line})
	}
	return chunks, nil
}

// Kinds of shardItem.
const (
	itemImage = iota + 1
	itemMissing
	itemStats
	itemAutoStats
)

// shardItem is what reaches a shard's writer: an image with its entry, a
// record without an image, or the counts of a chunk of input. It crosses
// stages gob-encoded as []byte.
type shardItem struct {
	Kind    int
	Line    int
	Entry   dataset.Entry
	Img     []byte
	Problem string
	Corrupt bool
	// itemStats: lines read and bad lines of the shard's chunk.
	Lines, Bad int
	Problems   []string
	// itemAutoStats: good and bad autotag lines of one chunk.
	AutoLines, AutoBad int
}

// recordMsg is a parsed record on its way to its shard.
type recordMsg struct {
	Shard int
	Rec   yfcc.Record
}

// autoTagsMsg is one autotags line: its number (the last line for a photo
// wins, as in yfcc.Ingest) and its tags.
type autoTagsMsg struct {
	Line int
	Tags []deepercluster.AutoTag
}

func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return b.Bytes(), nil
}

func decode(b []byte, v any) error {
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(v); err != nil {
		return fmt.Errorf("decode %T: %w", v, err)
	}
	return nil
}

// photoKey is the join key of a photo: its numeric id in canonical form,
// as yfcc.Ingest matches autotags by number; ids that are not numbers
// get a key no autotag line has.
func photoKey(id string) string {
	if n, err := strconv.ParseUint(id, 10, 64); err == nil {
		return strconv.FormatUint(n, 10)
	}
	return "!" + id
}

// shiftLine renumbers a problem of a chunk read on its own to its line in
// the whole file.
func shiftLine(err error, first int) string {
	var le *yfcc.LineError
	if errors.As(err, &le) {
		le.Line += first - 1
	}
	return err.Error()
}

// parseFn reads the metadata chunk of one shard with yfcc.Read:
// good records go out keyed by photo, and the chunk's counts go to the
// shard.
type parseFn struct {
	YFCC   string
	Chunks []Chunk
}

// ProcessElement parses shard's chunk.
func (f *parseFn) ProcessElement(ctx context.Context, shard int, emitRec func(string, []byte), emitItem func(int, []byte)) error {
	c := f.Chunks[shard]
	file, err := os.Open(f.YFCC)
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	defer file.Close()
	stats, err := yfcc.Read(ctx, io.NewSectionReader(file, c.Start, c.End-c.Start), f.YFCC, yfcc.IngestParseWorkers, func(rec yfcc.Record) error {
		rec.Line += c.FirstLine - 1
		b, err := encode(recordMsg{Shard: shard, Rec: rec})
		if err != nil {
			return fmt.Errorf("%s line %d: %w", f.YFCC, rec.Line, err)
		}
		emitRec(photoKey(rec.Meta.PhotoID), b)
		return nil
	})
	if err != nil {
		return err
	}
	it := shardItem{Kind: itemStats, Lines: stats.Lines, Bad: stats.Bad.Count}
	for _, e := range stats.Bad.First {
		it.Problems = append(it.Problems, shiftLine(e, c.FirstLine))
	}
	b, err := encode(it)
	if err != nil {
		return err
	}
	emitItem(shard, b)
	return nil
}

// autoTagsFn reads one chunk of the autotags file with
// yfcc.ReadAutoTags: tags go out keyed by photo, counts to shard 0.
type autoTagsFn struct {
	AutoTags string
	Chunks   []Chunk
}

// ProcessElement parses chunk i of the autotags file.
func (f *autoTagsFn) ProcessElement(ctx context.Context, i int, emitTags func(string, []byte), emitItem func(int, []byte)) error {
	c := f.Chunks[i]
	file, err := os.Open(f.AutoTags)
	if err != nil {
		return fmt.Errorf("autotags: %w", err)
	}
	defer file.Close()
	it := shardItem{Kind: itemAutoStats}
	line := c.FirstLine - 1
	bad, err := yfcc.ReadAutoTags(io.NewSectionReader(file, c.Start, c.End-c.Start), f.AutoTags, func(id string, tags []deepercluster.AutoTag) error {
		it.AutoLines++
		line++ // approximate: blank and bad lines are not seen here; only the order matters
		if it.AutoLines%65536 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if len(tags) == 0 {
			return nil
		}
		b, err := encode(autoTagsMsg{Line: line, Tags: tags})
		if err != nil {
			return err
		}
		emitTags(photoKey(id), b)
		return nil
	})
	if err != nil {
		return err
	}
	it.AutoBad = bad.Count
	for _, e := range bad.First {
		it.Problems = append(it.Problems, shiftLine(e, c.FirstLine))
	}
	b, err := encode(it)
	if err != nil {
		return err
	}
	emitItem(0, b)
	return nil
}

// joinFn gives each record of a photo the photo's autotags (the
// CoGroupByKey of records and autotags).
type joinFn struct{}

// ProcessElement joins the records and autotags of one photo id.
func (f *joinFn) ProcessElement(key string, recs func(*[]byte) bool, tags func(*[]byte) bool, emit func(string, []byte)) error {
	var best autoTagsMsg
	var b []byte
	for tags(&b) {
		var m autoTagsMsg
		if err := decode(b, &m); err != nil {
			return fmt.Errorf("photo %s: %w", key, err)
		}
		if best.Tags == nil || m.Line > best.Line {
			best = m
		}
	}
	for recs(&b) {
		if best.Tags == nil {
			emit(key, b)
			continue
		}
		var m recordMsg
		if err := decode(b, &m); err != nil {
			return fmt.Errorf("photo %s: %w", key, err)
		}
		m.Rec.Meta.AutoTags = best.Tags
		out, err := encode(m)
		if err != nil {
			return err
		}
		emit(key, out)
	}
	return nil
}

// decodeFn finds, decodes, crops and resizes a record's photo with
// yfcc.ImageFolder, as yfcc.Ingest does.
type decodeFn struct {
	Images string
	YFCC   string
	Size   int

	folder *yfcc.ImageFolder
}

// Setup opens the images folder.
func (f *decodeFn) Setup() error {
	var err error
	f.folder, err = yfcc.NewImageFolder(f.Images)
	return err
}

// ProcessElement loads the photo of one record.
func (f *decodeFn) ProcessElement(ctx context.Context, _ string, b []byte, emit func(int, []byte)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var m recordMsg
	if err := decode(b, &m); err != nil {
		return err
	}
	r := m.Rec
	img := make([]byte, deepercluster.ImageBytes(f.Size))
	it := shardItem{Kind: itemImage, Line: r.Line}
	if _, err := f.folder.Load(r.Meta.PhotoID, r.PhotoHash(), r.Extension, f.Size, img); err != nil {
		it.Kind = itemMissing
		it.Corrupt = errors.Is(err, imagefile.ErrImageCorrupt)
		it.Problem = fmt.Errorf("%s line %d: photo %s: %w", f.YFCC, r.Line, r.Meta.PhotoID, err).Error()
	} else {
		it.Img = img
		it.Entry = dataset.Entry{Meta: r.Meta, SourceLine: r.Line, URL: r.DownloadURL}
	}
	out, err := encode(it)
	if err != nil {
		return err
	}
	emit(m.Shard, out)
	return nil
}

// writeShardFn writes one shard: its images in metadata order into a
// dataset directory (dataset.CreateDir: a temporary directory renamed into
// place, manifest last), with the shard's counts in its manifest.
type writeShardFn struct {
	Out, YFCC, Images, AutoTags string
	Size                        int
}

// ProcessElement writes shard from everything grouped under it.
func (f *writeShardFn) ProcessElement(ctx context.Context, shard int, items func(*[]byte) bool) error {
	var imgs, missing []shardItem
	m := dataset.Manifest{Problems: []string{}}
	var badProblems, autoProblems []string
	var b []byte
	for items(&b) {
		var it shardItem
		if err := decode(b, &it); err != nil {
			return fmt.Errorf("shard %d: %w", shard, err)
		}
		switch it.Kind {
		case itemImage:
			imgs = append(imgs, it)
		case itemMissing:
			missing = append(missing, it)
		case itemStats:
			m.Lines += it.Lines
			m.BadLines += it.Bad
			badProblems = append(badProblems, it.Problems...)
		case itemAutoStats:
			m.AutoTagLines += it.AutoLines
			m.BadAutoTagLines += it.AutoBad
			autoProblems = append(autoProblems, it.Problems...)
		default:
			return fmt.Errorf("shard %d: item of unknown kind %d", shard, it.Kind)
		}
	}
	byLine := func(a, b shardItem) int { return a.Line - b.Line }
	slices.SortFunc(imgs, byLine)
	slices.SortFunc(missing, byLine)
	m.MissingImages = len(missing)
	m.Problems = append(m.Problems, badProblems[:min(len(badProblems), dataset.MaxProblems)]...)
	for _, it := range missing {
		if it.Corrupt {
			m.CorruptImages++
		}
	}
	for _, it := range missing[:min(len(missing), dataset.MaxProblems)] {
		m.Problems = append(m.Problems, it.Problem)
	}
	slices.Sort(autoProblems)
	m.Problems = append(m.Problems, autoProblems[:min(len(autoProblems), dataset.MaxProblems)]...)
	m.Source = map[string]string{"yfcc": f.YFCC, "images": f.Images}
	if f.AutoTags != "" {
		m.Source["autotags"] = f.AutoTags
	}
	w, err := dataset.CreateDir(filepath.Join(f.Out, dataset.ShardName(shard)), f.Size, true)
	if err != nil {
		return fmt.Errorf("shard %d: %w", shard, err)
	}
	defer w.Abort()
	for _, it := range imgs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := w.Add(it.Img, it.Entry); err != nil {
			return fmt.Errorf("shard %d line %d: %w", shard, it.Line, err)
		}
	}
	if _, err := w.Commit(m); err != nil {
		return fmt.Errorf("shard %d: %w", shard, err)
	}
	return nil
}

// Ingest builds a sharded dataset from YFCC100M metadata and a folder of
// photos as a Beam pipeline: each shard's share of the metadata file is
// parsed (yfcc.Read; bad lines counted and reported with their
// line), records are joined with their autotags (CoGroupByKey), photos
// are decoded, cropped and resized (yfcc.ImageFolder), and each shard
// is written atomically (dataset.CreateDir); the driver writes the
// sharded manifest last. The counts equal those of yfcc.Ingest on the
// same input, and the shards hold the same images in the same order.
func Ingest(ctx context.Context, cfg IngestConfig) (dataset.ShardedManifest, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.YFCC == "" || cfg.Images == "" || cfg.Out == "" {
		return dataset.ShardedManifest{}, errors.New("pipeline ingest needs --yfcc, --images and --out")
	}
	if cfg.Size < 1 || cfg.Size > deepercluster.MaxResolution {
		return dataset.ShardedManifest{}, fmt.Errorf("pipeline ingest: size %d outside [1, %d]", cfg.Size, deepercluster.MaxResolution)
	}
	shards := cfg.Shards
	if shards == 0 {
		shards = 4
	}
	if shards < 1 {
		return dataset.ShardedManifest{}, fmt.Errorf("pipeline ingest: %d shards", shards)
	}
	if err := cfg.Runner.Validate(); err != nil {
		return dataset.ShardedManifest{}, err
	}
	if _, err := yfcc.NewImageFolder(cfg.Images); err != nil {
		return dataset.ShardedManifest{}, err
	}
	if err := prepareOut(cfg.Out, cfg.Replace); err != nil {
		return dataset.ShardedManifest{}, err
	}
	chunks, err := SplitLines(cfg.YFCC, shards)
	if err != nil {
		return dataset.ShardedManifest{}, fmt.Errorf("metadata: %w", err)
	}
	p, s := beam.NewPipelineWithRoot()
	shardCol := beam.CreateList(s.Scope("shards"), seq(shards))
	recs, stats := beam.ParDo2(s.Scope("parse"), &parseFn{YFCC: cfg.YFCC, Chunks: chunks}, shardCol)
	parts := []beam.PCollection{stats}
	if cfg.AutoTags != "" {
		achunks, err := SplitLines(cfg.AutoTags, shards)
		if err != nil {
			return dataset.ShardedManifest{}, fmt.Errorf("autotags: %w", err)
		}
		autoIDs := beam.CreateList(s.Scope("autotag chunks"), seq(shards))
		tags, astats := beam.ParDo2(s.Scope("autotags"), &autoTagsFn{AutoTags: cfg.AutoTags, Chunks: achunks}, autoIDs)
		parts = append(parts, astats)
		recs = beam.ParDo(s.Scope("join"), &joinFn{}, beam.CoGroupByKey(s.Scope("by photo"), recs, tags))
	} else {
		recs = beam.Reshuffle(s.Scope("spread"), recs)
	}
	items := beam.ParDo(s.Scope("decode"), &decodeFn{Images: cfg.Images, YFCC: cfg.YFCC, Size: cfg.Size}, recs)
	parts = append(parts, items)
	grouped := beam.GroupByKey(s.Scope("by shard"), beam.Flatten(s, parts...))
	beam.ParDo0(s.Scope("write"), &writeShardFn{Out: cfg.Out, YFCC: cfg.YFCC, Images: cfg.Images, AutoTags: cfg.AutoTags, Size: cfg.Size}, grouped)
	log.Info("pipeline ingest", "yfcc", cfg.YFCC, "shards", shards, "runner", cfg.Runner.label())
	if err := cfg.Runner.Execute(ctx, p); err != nil {
		return dataset.ShardedManifest{}, fmt.Errorf("pipeline ingest: %w", err)
	}
	names := make([]string, shards)
	for i := range names {
		names[i] = dataset.ShardName(i)
	}
	src := map[string]string{"yfcc": cfg.YFCC, "images": cfg.Images}
	if cfg.AutoTags != "" {
		src["autotags"] = cfg.AutoTags
	}
	sm, err := dataset.CommitSharded(cfg.Out, names, dataset.Manifest{Source: src})
	if err != nil {
		return sm, fmt.Errorf("pipeline ingest: %w", err)
	}
	// Shards of an older, larger dataset at Out are no longer named.
	for i := shards; ; i++ {
		old := filepath.Join(cfg.Out, dataset.ShardName(i))
		if _, err := os.Stat(old); err != nil {
			break
		}
		if err := os.RemoveAll(old); err != nil {
			return sm, fmt.Errorf("pipeline ingest: remove old shard: %w", err)
		}
	}
	return sm, nil
}

// prepareOut makes the output directory, refusing an existing dataset
// unless replace is set; a replaced dataset loses its manifest first, so
// it reads as incomplete until the new one is committed.
func prepareOut(out string, replace bool) error {
	st, err := os.Stat(out)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(out, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", out, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("output %s: %w", out, err)
	case !st.IsDir():
		return fmt.Errorf("output %s is not a directory", out)
	}
	if dataset.IsSharded(out) {
		if !replace {
			return fmt.Errorf("output %s already holds a sharded dataset (remove it or ask to replace it)", out)
		}
		if err := os.Remove(filepath.Join(out, dataset.ShardedManifestFile)); err != nil {
			return fmt.Errorf("replace %s: %w", out, err)
		}
		return nil
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("output %s: %w", out, err)
	}
	if len(ents) > 0 && !replace {
		return fmt.Errorf("output %s exists and is not empty", out)
	}
	return nil
}

// seq is 0, 1, ..., n-1.
func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

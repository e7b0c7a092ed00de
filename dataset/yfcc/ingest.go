package yfcc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset"
	"github.com/deepercluster/deepercluster/dataset/imagefile"
)

// IngestConfig names the inputs and output of Ingest.
type IngestConfig struct {
	// YFCC is the metadata file (23 or 25 columns).
	YFCC string
	// Images is the folder holding the photos, flat or by hash.
	Images string
	// AutoTags is the optional autotags file.
	AutoTags string
	// Size is the model resolution images are cut down to.
	Size int
	// Out is the dataset directory to create.
	Out string
	// Replace allows replacing an existing dataset at Out.
	Replace bool
	// Workers decode images in parallel; 0 means one per CPU.
	Workers int
	// Progress, when set, is called now and then from Ingest's goroutine
	// with how far into the metadata file the records done so far reach
	// (in bytes), the file's size and the images kept so far.
	Progress func(read, total int64, images int)
}

// IngestParseWorkers is how many goroutines parse metadata lines in
// Ingest (Read's workers): one, as decoding images, not parsing, is
// what needs the cores. bench-ingest measures this very reader.
const IngestParseWorkers = 1

// Ingest turns YFCC100M metadata and a folder of images into a dataset
// directory. Bad metadata lines and records without a decodable image are
// counted, the first MaxProblems of each kind kept with their line numbers
// in the manifest, and skipped, so every entry of the dataset has an image.
// Images are decoded in parallel; entries keep the metadata's order. On
// error or cancellation nothing is left at Out. Video records (marker 1)
// are treated like photos: they count as missing unless the folder holds
// an image (a frame) under their id or hash.
func Ingest(ctx context.Context, cfg IngestConfig) (dataset.Manifest, error) {
	if cfg.YFCC == "" || cfg.Images == "" || cfg.Out == "" {
		return dataset.Manifest{}, errors.New("ingest needs a metadata file, an images folder and an output directory")
	}
	folder, err := NewImageFolder(cfg.Images)
	if err != nil {
		return dataset.Manifest{}, err
	}
	meta, err := os.Open(cfg.YFCC)
	if err != nil {
		return dataset.Manifest{}, fmt.Errorf("metadata: %w", err)
	}
	defer meta.Close()
	st, err := meta.Stat()
	if err != nil {
		return dataset.Manifest{}, fmt.Errorf("metadata: %w", err)
	}
	var auto map[uint64][]deepercluster.AutoTag
	var autoBad dataset.Problems
	autoLines := 0
	if cfg.AutoTags != "" {
		auto, autoLines, autoBad, err = loadAutoTags(ctx, meta, cfg.YFCC, cfg.AutoTags)
		if err != nil {
			return dataset.Manifest{}, err
		}
		if _, err := meta.Seek(0, io.SeekStart); err != nil {
			return dataset.Manifest{}, fmt.Errorf("metadata %s: %w", cfg.YFCC, err)
		}
	}
	w, err := dataset.CreateDir(cfg.Out, cfg.Size, cfg.Replace)
	if err != nil {
		return dataset.Manifest{}, err
	}
	defer w.Abort() // a no-op after Commit

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type job struct {
		seq int
		rec Record
	}
	type result struct {
		seq int
		rec Record
		img []byte
		err error
	}
	jobs := make(chan job, 4*workers)
	results := make(chan result, 4*workers)
	var stats Stats
	var readErr error
	var wg sync.WaitGroup
	// Producer: parse metadata in its own goroutine (image decoding, not
	// parsing, is what takes the cores), hand records on in order.
	wg.Go(func() {
		defer close(jobs)
		seq := 0
		stats, readErr = Read(ctx, meta, cfg.YFCC, IngestParseWorkers, func(rec Record) error {
			select {
			case jobs <- job{seq, rec}:
				seq++
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if readErr != nil {
			cancel()
		}
	})
	// Workers: find, decode, crop, resize.
	var decoders sync.WaitGroup
	for range workers {
		decoders.Go(func() {
			for j := range jobs {
				img := make([]byte, deepercluster.ImageBytes(cfg.Size))
				_, err := folder.Load(j.rec.Meta.PhotoID, j.rec.PhotoHash(), j.rec.Extension, cfg.Size, img)
				select {
				case results <- result{j.seq, j.rec, img, err}:
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

	// Collector: put results back in metadata order and write them.
	var m dataset.Manifest
	var imageProblems dataset.Problems
	var doneBytes int64
	var progress func(int)
	if cfg.Progress != nil {
		progress = func(int) { cfg.Progress(doneBytes, st.Size(), w.Len()) }
	}
	writeErr := dataset.InOrder(results, func(r result) int { return r.seq }, func(r result) error {
		doneBytes = r.rec.End
		if r.err != nil {
			m.MissingImages++
			if errors.Is(r.err, imagefile.ErrImageCorrupt) {
				m.CorruptImages++
			}
			imageProblems.Add(fmt.Errorf("%s line %d: photo %s: %w", cfg.YFCC, r.rec.Line, r.rec.Meta.PhotoID, r.err))
			return nil
		}
		if auto != nil {
			if id, err := strconv.ParseUint(r.rec.Meta.PhotoID, 10, 64); err == nil {
				r.rec.Meta.AutoTags = auto[id]
			}
		}
		if err := w.Add(r.img, dataset.Entry{Meta: r.rec.Meta, SourceLine: r.rec.Line, URL: r.rec.DownloadURL}); err != nil {
			cancel()
			return err
		}
		return nil
	}, progress)
	wg.Wait()
	switch {
	case writeErr != nil:
		return dataset.Manifest{}, writeErr
	case readErr != nil:
		return dataset.Manifest{}, readErr
	case ctx.Err() != nil:
		return dataset.Manifest{}, fmt.Errorf("ingest %s: %w", cfg.YFCC, context.Cause(ctx))
	}
	if cfg.Progress != nil {
		cfg.Progress(st.Size(), st.Size(), w.Len())
	}
	bad := stats.Bad
	m.Lines = stats.Lines
	m.BadLines = bad.Count
	m.AutoTagLines, m.BadAutoTagLines = autoLines, autoBad.Count
	m.Source = map[string]string{"yfcc": cfg.YFCC, "images": cfg.Images}
	if cfg.AutoTags != "" {
		m.Source["autotags"] = cfg.AutoTags
	}
	m.Problems = []string{}
	for _, p := range [][]error{bad.First, imageProblems.First, autoBad.First} {
		for _, e := range p {
			m.Problems = append(m.Problems, e.Error())
		}
	}
	return w.Commit(m)
}

// loadAutoTags reads the autotags of the photos the metadata file names,
// and only those: the full autotags file covers 100M photos, far more
// than a subset needs in memory. Concept names are interned.
func loadAutoTags(ctx context.Context, meta io.Reader, metaName, path string) (map[uint64][]deepercluster.AutoTag, int, dataset.Problems, error) {
	ids := map[uint64]bool{}
	br := bufio.NewReaderSize(meta, 1<<20)
	for {
		if ctx.Err() != nil {
			return nil, 0, dataset.Problems{}, ctx.Err()
		}
		line, err := br.ReadSlice('\n')
		if id, ok := quickPhotoID(line); ok {
			ids[id] = true
		}
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n')
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, dataset.Problems{}, fmt.Errorf("read %s: %w", metaName, err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, dataset.Problems{}, fmt.Errorf("autotags: %w", err)
	}
	defer f.Close()
	auto := map[uint64][]deepercluster.AutoTag{}
	intern := map[string]string{}
	lines := 0
	bad, err := ReadAutoTags(f, path, func(photoID string, tags []deepercluster.AutoTag) error {
		lines++
		if lines%65536 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		id, err := strconv.ParseUint(photoID, 10, 64)
		if err != nil || !ids[id] || len(tags) == 0 {
			return nil
		}
		for i := range tags {
			c, ok := intern[tags[i].Concept]
			if !ok {
				c = tags[i].Concept
				intern[c] = c
			}
			tags[i].Concept = c
		}
		auto[id] = tags
		return nil
	})
	if err != nil {
		return nil, lines, bad, err
	}
	return auto, lines, bad, nil
}

// quickPhotoID takes the photo id of a metadata line without parsing the
// rest: the first field in 23 columns, the second in 25.
func quickPhotoID(line []byte) (uint64, bool) {
	n := bytes.Count(line, []byte{'\t'}) + 1
	first, rest, _ := bytes.Cut(line, []byte{'\t'})
	if n == ColumnsNumbered {
		first, _, _ = bytes.Cut(rest, []byte{'\t'})
	} else if n != Columns {
		return 0, false
	}
	id, err := strconv.ParseUint(string(first), 10, 64)
	return id, err == nil
}

package index

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/blevesearch/bleve/v2"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/wire"
)

// currentFile names the live generation: it holds "gen-NNNNNN\n" and is
// replaced atomically once a Build's generation is complete and persisted.
const currentFile = "CURRENT"

// Open opens the index in dir, creating dir if needed. It never answers
// from an index it cannot trust: when the directory is corrupt, was built
// with another MappingVersion or for another dataset, Open logs why,
// removes it and returns an empty Index whose Recovered says why (wrapping
// ErrCorrupt, ErrOldMapping or ErrOtherDataset). Call Build whenever
// Version is 0. A directory that holds files that are not ours is refused
// (ErrNotIndexDir) rather than deleted.
func Open(dir string, ds deepercluster.Dataset, opt Options) (*Index, error) {
	opt.defaults()
	m, err := newMapping()
	if err != nil {
		return nil, err
	}
	an, err := newAnalyzers(m)
	if err != nil {
		return nil, err
	}
	ix := &Index{dir: dir, ds: ds, opt: opt, log: opt.Logger, m: m, an: an, fp: fingerprint(ds)}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("index dir %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("index dir %s: %w", dir, err)
	}
	for _, e := range entries {
		if e.Name() != currentFile && !strings.HasPrefix(e.Name(), "gen-") && !isTempName(e.Name()) {
			return nil, fmt.Errorf("%w: %s holds %s", ErrNotIndexDir, dir, e.Name())
		}
	}
	cur, err := os.ReadFile(filepath.Join(dir, currentFile))
	name := strings.TrimSpace(string(cur))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if len(entries) > 0 {
			ix.recover(fmt.Errorf("%w: %s has no %s", ErrCorrupt, dir, currentFile))
		}
	case err != nil:
		return nil, fmt.Errorf("index dir %s: %w", dir, err)
	case !validGenName(name):
		ix.recover(fmt.Errorf("%w: %s names %q", ErrCorrupt, filepath.Join(dir, currentFile), name))
	default:
		g, err := ix.openGen(name)
		if err != nil {
			ix.recover(err)
		} else {
			ix.gen.Store(g)
		}
	}
	ix.removeStale()
	return ix, nil
}

// validGenName tells a generation name that CURRENT may hold.
func validGenName(s string) bool {
	n, ok := strings.CutPrefix(s, "gen-")
	if !ok || n == "" {
		return false
	}
	_, err := strconv.ParseUint(n, 10, 32)
	return err == nil
}

// recover records why Open started over.
func (ix *Index) recover(err error) {
	ix.recovered = err
	ix.log.Warn("index unusable, starting over: call Build", "dir", ix.dir, "err", err)
}

// removeStale deletes every generation but the live one (left-overs of an
// interrupted Build, or a recovered one) and a stale CURRENT.
func (ix *Index) removeStale() {
	live := ""
	if g := ix.gen.Load(); g != nil {
		live = g.name
	} else {
		_ = os.Remove(filepath.Join(ix.dir, currentFile))
	}
	entries, _ := os.ReadDir(ix.dir)
	for _, e := range entries {
		if e.Name() != currentFile && e.Name() != live {
			if err := os.RemoveAll(filepath.Join(ix.dir, e.Name())); err != nil {
				ix.log.Warn("remove stale index generation", "path", e.Name(), "err", err)
			}
		}
	}
}

// openGen opens a generation and checks that it is ours and current.
func (ix *Index) openGen(name string) (g *generation, err error) {
	path := filepath.Join(ix.dir, name)
	defer func() {
		if r := recover(); r != nil { // a corrupt segment can panic inside bleve
			err = fmt.Errorf("%w: open %s: %v", ErrCorrupt, path, r)
		}
	}()
	bi, err := bleve.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %w", ErrCorrupt, path, err)
	}
	fail := func(err error) (*generation, error) {
		_ = bi.Close()
		return nil, err
	}
	mv, err := bi.GetInternal(keyMapping)
	if err != nil {
		return fail(fmt.Errorf("%w: %s: read mapping version: %w", ErrCorrupt, path, err))
	}
	if string(mv) != strconv.Itoa(MappingVersion) {
		return fail(fmt.Errorf("%w: %s has mapping version %q, this program writes %d", ErrOldMapping, path, mv, MappingVersion))
	}
	fp, err := bi.GetInternal(keyDataset)
	if err != nil {
		return fail(fmt.Errorf("%w: %s: read dataset fingerprint: %w", ErrCorrupt, path, err))
	}
	if string(fp) != ix.fp {
		return fail(fmt.Errorf("%w: %s was built for %q, the dataset is %q", ErrOtherDataset, path, fp, ix.fp))
	}
	ab, err := bi.GetInternal(keyAssignment)
	if err != nil {
		return fail(fmt.Errorf("%w: %s: read assignment: %w", ErrCorrupt, path, err))
	}
	a, err := wire.UnmarshalAssignment(ab)
	if err != nil {
		return fail(fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err))
	}
	if err := ix.checkAssignment(a); err != nil {
		return fail(fmt.Errorf("%w: %s: stored %w", ErrCorrupt, path, err))
	}
	vb, err := bi.GetInternal(keyVersion)
	if err != nil || string(vb) != strconv.FormatUint(uint64(a.Version), 10) {
		return fail(fmt.Errorf("%w: %s: version key %q does not match assignment %d", ErrCorrupt, path, vb, a.Version))
	}
	if _, err := bi.DocCount(); err != nil {
		return fail(fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err))
	}
	pb, err := bi.GetInternal(keyPending)
	if err != nil {
		return fail(fmt.Errorf("%w: %s: read update marker: %w", ErrCorrupt, path, err))
	}
	if pb != nil {
		return fail(fmt.Errorf("%w: %s: an update to write %s was interrupted", ErrCorrupt, path, pb))
	}
	sb, err := bi.GetInternal(keySeq)
	if err != nil {
		return fail(fmt.Errorf("%w: %s: read sequence: %w", ErrCorrupt, path, err))
	}
	seq, err := strconv.ParseUint(string(sb), 10, 64)
	if err != nil {
		return fail(fmt.Errorf("%w: %s: sequence %q", ErrCorrupt, path, sb))
	}
	g = &generation{name: name, bi: bi}
	s, err := ix.newSnapshot(context.Background(), a, seq)
	if err != nil {
		return fail(err)
	}
	g.stage(s)
	g.commit(s)
	return g, nil
}

// nextGenName is one past the highest gen-* number in the directory, so a
// new generation never reuses the name of one being removed.
func (ix *Index) nextGenName() string {
	next := uint64(1)
	entries, _ := os.ReadDir(ix.dir)
	for _, e := range entries {
		if s, ok := strings.CutPrefix(e.Name(), "gen-"); ok {
			if k, err := strconv.ParseUint(s, 10, 32); err == nil && k >= next {
				next = k + 1
			}
		}
	}
	return fmt.Sprintf("gen-%06d", next)
}

// isTempName tells the temporary file of an interrupted write of the
// current-generation pointer (".current.tmp*"; ".tmp-*" before the one
// atomic writer) from a file that does not belong in an index directory.
func isTempName(name string) bool {
	return strings.HasPrefix(name, "."+currentFile+".tmp") || strings.HasPrefix(name, ".tmp-")
}

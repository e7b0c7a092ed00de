package index

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"iter"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/internal/atomicfile"
)

// Options tune an Index; the zero value is ready to use.
type Options struct {
	// BatchSize is the number of image documents per bleve batch during a
	// full Build (default 2000): larger batches make fewer segments to
	// merge, smaller ones report progress more often. Update gives each
	// worker at least a quarter of it.
	BatchSize int
	// Workers is the number of batches indexed at once during a full Build
	// (default GOMAXPROCS): scorch builds each batch's segment on the
	// calling goroutine, so two workers use both cores.
	Workers int
	// RebuildFraction: when more than this share of the images changed
	// cluster, Update does a full Build into a new generation instead
	// (default 0.3), which is faster than rewriting most documents.
	RebuildFraction float64
	// TopTags is how many top tags each cluster document carries
	// (default 20); TopTags answers at most this many.
	TopTags int
	// Logger receives recoveries and build reports (default slog.Default()).
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.BatchSize <= 0 {
		o.BatchSize = 2000
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.RebuildFraction <= 0 {
		o.RebuildFraction = 0.3
	}
	if o.TopTags <= 0 {
		o.TopTags = 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Internal keys, written in the same batch as the documents they describe.
var (
	keyMapping    = []byte("dc:mapping")    // MappingVersion, decimal
	keyDataset    = []byte("dc:dataset")    // dataset fingerprint
	keyVersion    = []byte("dc:version")    // indexed Assignment version, decimal
	keySeq        = []byte("dc:seq")        // snapshot.seq, decimal
	keyAssignment = []byte("dc:assignment") // indexed Assignment, deepercluster.MarshalAssignment
	// keyPending is set while an Update lands its batches (the sequence it
	// goes to): an index opened with it set may hold a mix of two
	// versions, so Open rebuilds it.
	keyPending = []byte("dc:pending")
)

const currentFile = "CURRENT"

// Index is the bleve index of one run's images and clusters. All methods
// are safe for concurrent use; Build and Update run one at a time, and
// searches keep working while they run.
type Index struct {
	dir string
	ds  deepercluster.Dataset
	opt Options
	log *slog.Logger
	m   *mapping.IndexMappingImpl
	an  analyzers
	fp  string // dataset fingerprint

	wmu       sync.Mutex // serialises Build, Update and Close
	gen       atomic.Pointer[generation]
	closed    atomic.Bool
	recovered error

	ttOnce sync.Once
	tt     *tagTable
	ttErr  error
}

// generation is one bleve index directory with the Assignment snapshots
// its readers may see.
type generation struct {
	name string
	bi   bleve.Index

	life sync.RWMutex // searches hold RLock; retire takes Lock
	gone bool

	// cur is the committed snapshot: the one whose batch has landed.
	cur atomic.Pointer[snapshot]
	// snaps are the recent snapshots by sequence number, newest last: a
	// reader opened just before or after a batch lands finds its own.
	snapMu sync.RWMutex
	snaps  []*snapshot

	// pin is set while an Update lands its batches: searches then share
	// this reader of the version before it instead of opening one on a
	// half-updated index. pinMu orders opening a fresh reader against
	// setting and clearing pin. A failed Update leaves its pin in place and
	// marks the generation dirty, so searches keep the old answers until
	// the next Update rebuilds.
	pinMu sync.RWMutex
	pin   *pinnedReader
	dirty bool // guarded by Index.wmu
}

// pinnedReader is a bleve reader shared by the searches that run while an
// Update lands; the Update holds one reference and the last release closes
// the reader.
type pinnedReader struct {
	r    bindex.IndexReader
	snap *snapshot
	refs atomic.Int32
}

func (p *pinnedReader) release() {
	if p.refs.Add(-1) == 0 {
		_ = p.r.Close()
	}
}

// pinCurrent opens a reader of the committed version and makes searches
// use it until unpin.
func (g *generation) pinCurrent() error {
	adv, err := g.bi.Advanced()
	if err != nil {
		return fmt.Errorf("index reader: %w", err)
	}
	g.pinMu.Lock()
	defer g.pinMu.Unlock()
	r, err := adv.Reader()
	if err != nil {
		return fmt.Errorf("index reader: %w", err)
	}
	p := &pinnedReader{r: r, snap: g.latest()}
	p.refs.Store(1)
	g.pin = p
	return nil
}

// unpin lets searches open fresh readers again.
func (g *generation) unpin() {
	g.pinMu.Lock()
	p := g.pin
	g.pin = nil
	g.pinMu.Unlock()
	if p != nil {
		p.release()
	}
}

// snapshot is one indexed Assignment with its derived numbers; immutable
// once published.
type snapshot struct {
	// seq numbers the writes to one generation; it is stored in the same
	// batch as the documents (keySeq), so a reader knows which snapshot its
	// view of bleve belongs to.
	seq   uint64
	a     *deepercluster.Assignment
	stats *clusterStats
	tt    *tagTable

	qOnce   sync.Once
	quality *deepercluster.Quality
}

func (g *generation) snapshot(seq uint64) *snapshot {
	g.snapMu.RLock()
	defer g.snapMu.RUnlock()
	for i := len(g.snaps) - 1; i >= 0; i-- {
		if g.snaps[i].seq == seq {
			return g.snaps[i]
		}
	}
	return nil
}

func (g *generation) latest() *snapshot { return g.cur.Load() }

// stage makes s findable by readers before its batch lands.
func (g *generation) stage(s *snapshot) {
	g.snapMu.Lock()
	defer g.snapMu.Unlock()
	g.snaps = append(g.snaps, s)
	if len(g.snaps) > 4 {
		g.snaps = append([]*snapshot(nil), g.snaps[len(g.snaps)-4:]...)
	}
}

// commit marks s as landed.
func (g *generation) commit(s *snapshot) { g.cur.Store(s) }

// retire waits for in-flight searches, closes the bleve index and removes
// its directory.
func (g *generation) retire(dir string) error {
	g.life.Lock()
	g.gone = true
	g.unpin()
	err := g.bi.Close()
	g.life.Unlock()
	if rmErr := os.RemoveAll(filepath.Join(dir, g.name)); err == nil {
		err = rmErr
	}
	return err
}

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
	a, err := deepercluster.UnmarshalAssignment(ab)
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

// Recovered says why Open discarded what it found in dir (nil when it
// found a usable index or nothing).
func (ix *Index) Recovered() error { return ix.recovered }

// Version is the Assignment version searches answer from; 0 until the
// first Build completes.
func (ix *Index) Version() uint32 {
	if g := ix.gen.Load(); g != nil {
		if s := g.latest(); s != nil {
			return s.a.Version
		}
	}
	return 0
}

// Close waits for a running Build or Update, then closes the index.
// Cancel their context first to stop them early.
func (ix *Index) Close() error {
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	if ix.closed.Swap(true) {
		return nil
	}
	g := ix.gen.Swap(nil)
	if g == nil {
		return nil
	}
	g.life.Lock()
	defer g.life.Unlock()
	g.gone = true
	g.unpin()
	return g.bi.Close()
}

// acquire returns the live generation held for reading; release it with
// g.life.RUnlock.
func (ix *Index) acquire() (*generation, error) {
	for range 100 {
		if ix.closed.Load() {
			return nil, ErrClosed
		}
		g := ix.gen.Load()
		if g == nil {
			return nil, deepercluster.ErrNotReady
		}
		g.life.RLock()
		if !g.gone {
			return g, nil
		}
		g.life.RUnlock() // retired under us: a newer one is live
	}
	return nil, deepercluster.ErrNotReady
}

// tags builds the tag table once.
func (ix *Index) tags(ctx context.Context) (*tagTable, error) {
	ix.ttOnce.Do(func() { ix.tt, ix.ttErr = buildTagTable(ctx, ix.ds, ix.an) })
	if ix.ttErr != nil {
		err := ix.ttErr
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			ix.ttOnce = sync.Once{} // try again next time (callers hold wmu)
		}
		return nil, err
	}
	return ix.tt, nil
}

func (ix *Index) newSnapshot(ctx context.Context, a *deepercluster.Assignment, seq uint64) (*snapshot, error) {
	tt, err := ix.tags(ctx)
	if err != nil {
		return nil, err
	}
	return &snapshot{seq: seq, a: a, tt: tt, stats: computeStats(tt, a)}, nil
}

// checkAssignment validates a against the dataset.
func (ix *Index) checkAssignment(a *deepercluster.Assignment) error {
	if a == nil {
		return fmt.Errorf("%w: nil", ErrAssignment)
	}
	if len(a.Super) != ix.ds.Len() {
		return fmt.Errorf("%w: %d images assigned, the dataset has %d", ErrAssignment, len(a.Super), ix.ds.Len())
	}
	if err := a.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrAssignment, err)
	}
	return nil
}

// copyAssignment keeps our own copy: callers may reuse their slices.
func copyAssignment(a *deepercluster.Assignment) *deepercluster.Assignment {
	return &deepercluster.Assignment{
		Version: a.Version, M: a.M,
		Super:     append([]int32(nil), a.Super...),
		Sub:       append([]int32(nil), a.Sub...),
		SubParent: append([]int32(nil), a.SubParent...),
	}
}

// Build indexes every image in its clusters of a, and the cluster
// documents, into a new generation; searches keep answering from the
// previous one until the new one is complete and persisted. progress, if
// not nil, is called after each batch with images done and total.
func (ix *Index) Build(ctx context.Context, a *deepercluster.Assignment, progress func(done, total int)) error {
	if err := ix.checkAssignment(a); err != nil {
		return err
	}
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	if ix.closed.Load() {
		return ErrClosed
	}
	return ix.build(ctx, copyAssignment(a), progress)
}

func (ix *Index) build(ctx context.Context, a *deepercluster.Assignment, progress func(done, total int)) (err error) {
	start := time.Now()
	// The tag statistics are only needed for the cluster documents at the
	// end: work them out while the images are indexed.
	type snapOrErr struct {
		s   *snapshot
		err error
	}
	snapc := make(chan snapOrErr, 1)
	go func() {
		s, err := ix.newSnapshot(ctx, a, 1)
		snapc <- snapOrErr{s, err}
	}()
	defer func() {
		if snapc != nil {
			<-snapc // never leave it running past this call (it uses ix.tags)
		}
	}()
	name := ix.nextGenName()
	path := filepath.Join(ix.dir, name)
	bi, err := bleve.NewUsing(path, ix.m, scorch.Name, scorch.Name, map[string]any{"unsafe_batch": true})
	if err != nil {
		return fmt.Errorf("create index %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = bi.Close()
			_ = os.RemoveAll(path)
		}
	}()

	n := ix.ds.Len()
	bs := ix.opt.BatchSize
	chunks := make(chan int)
	errc := make(chan error, ix.opt.Workers)
	var done atomic.Int64
	var progMu sync.Mutex
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range ix.opt.Workers {
		wg.Go(func() {
			for lo := range chunks {
				hi := min(lo+bs, n)
				span := func(yield func(int) bool) {
					for i := lo; i < hi; i++ {
						if !yield(i) {
							return
						}
					}
				}
				if err := ix.indexImages(wctx, bi, a, span); err != nil {
					errc <- fmt.Errorf("index images %d-%d: %w", lo, hi-1, err)
					cancel()
					return
				}
				d := int(done.Add(int64(hi - lo)))
				if progress != nil {
					progMu.Lock()
					progress(d, n)
					progMu.Unlock()
				}
			}
		})
	}
feed:
	for lo := 0; lo < n; lo += bs {
		select {
		case chunks <- lo:
		case <-wctx.Done():
			break feed
		}
	}
	close(chunks)
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	so := <-snapc
	snapc = nil
	if so.err != nil {
		return so.err
	}
	snap := so.s

	b := bi.NewBatch()
	if err := ix.addClusters(b, snap, 0, 0); err != nil {
		return err
	}
	ix.setInternals(b, snap)
	b.SetInternal(keyMapping, []byte(strconv.Itoa(MappingVersion)))
	b.SetInternal(keyDataset, []byte(ix.fp))
	if err := applyPersisted(ctx, bi, b); err != nil {
		return fmt.Errorf("index clusters: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(ix.dir, currentFile), []byte(name+"\n")); err != nil {
		return err
	}
	g := &generation{name: name, bi: bi}
	g.stage(snap)
	g.commit(snap)
	old := ix.gen.Swap(g)
	if old != nil {
		if err := old.retire(ix.dir); err != nil {
			ix.log.Warn("retire old index generation", "gen", old.name, "err", err)
		}
	}
	ix.log.Info("index built", "dir", path, "images", n, "version", a.Version,
		"took", time.Since(start).Round(time.Millisecond), "docs_per_s", float64(n)/time.Since(start).Seconds())
	return nil
}

// indexImages writes the documents of images, in their clusters of a, to
// bi in one batch.
func (ix *Index) indexImages(ctx context.Context, bi bleve.Index, a *deepercluster.Assignment, images iter.Seq[int]) error {
	b := bi.NewBatch()
	k := 0
	for i := range images {
		if k++; k%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := b.IndexAdvanced(ix.an.imageDoc(i, ix.ds.Meta(i), a.Super[i], a.Sub[i])); err != nil {
			return fmt.Errorf("index image %d: %w", i, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return bi.Batch(b)
}

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

// addClusters adds the documents of every cluster of snap to b, and
// deletes those of clusters that an older Assignment had beyond them.
func (ix *Index) addClusters(b *bleve.Batch, snap *snapshot, oldM, oldK int) error {
	st, a := snap.stats, snap.a
	for c := range a.M {
		if err := b.IndexAdvanced(ix.an.clusterDoc(deepercluster.LevelSuper, c, int32(c), st.superSize[c], snap.tt.top(st.superTags[c], ix.opt.TopTags))); err != nil {
			return err
		}
	}
	for c := range a.SubParent {
		if err := b.IndexAdvanced(ix.an.clusterDoc(deepercluster.LevelSub, c, a.SubParent[c], st.subSize[c], snap.tt.top(st.subTags[c], ix.opt.TopTags))); err != nil {
			return err
		}
	}
	for c := a.M; c < oldM; c++ {
		b.Delete(clusterID(deepercluster.LevelSuper, c))
	}
	for c := len(a.SubParent); c < oldK; c++ {
		b.Delete(clusterID(deepercluster.LevelSub, c))
	}
	return nil
}

func (ix *Index) setInternals(b *bleve.Batch, s *snapshot) {
	b.SetInternal(keyVersion, []byte(strconv.FormatUint(uint64(s.a.Version), 10)))
	b.SetInternal(keySeq, []byte(strconv.FormatUint(s.seq, 10)))
	b.SetInternal(keyAssignment, deepercluster.MarshalAssignment(s.a))
}

// applyPersisted applies a batch and waits until scorch has persisted it
// (and so every batch before it) to disk.
func applyPersisted(ctx context.Context, bi bleve.Index, b *bleve.Batch) error {
	_, _, err := applyPersistedTimed(ctx, bi, b)
	return err
}

// applyPersistedTimed also says how long the batch took to land (analysis,
// segment, introduction) and then to persist.
func applyPersistedTimed(ctx context.Context, bi bleve.Index, b *bleve.Batch) (apply, persist time.Duration, err error) {
	t0 := time.Now()
	persisted := make(chan error, 1)
	b.SetPersistedCallback(func(err error) { persisted <- err })
	if err := bi.Batch(b); err != nil {
		return time.Since(t0), 0, err
	}
	apply = time.Since(t0)
	defer func() { persist = time.Since(t0) - apply }()
	select {
	case err := <-persisted:
		return apply, persist, err
	case <-ctx.Done():
		return apply, persist, ctx.Err()
	}
}

// Update brings the index to Assignment a, re-indexing only the images
// whose super- or sub-cluster differs from the indexed version, and every
// cluster document. The moved images land as one batch per worker, built
// at once on every core; searches meanwhile share a reader pinned to the
// version before (and the cluster documents and version keys land last),
// so a search sees either the old or the new version, never a mix. When
// nothing is indexed yet, an earlier Update failed half-way, or more than
// Options.RebuildFraction of the images moved, it does a full Build.
func (ix *Index) Update(ctx context.Context, a *deepercluster.Assignment) (deepercluster.UpdateStats, error) {
	start := time.Now()
	if err := ix.checkAssignment(a); err != nil {
		return deepercluster.UpdateStats{}, err
	}
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	if ix.closed.Load() {
		return deepercluster.UpdateStats{}, ErrClosed
	}
	a = copyAssignment(a)
	st := deepercluster.UpdateStats{To: a.Version, Clusters: a.M + len(a.SubParent)}
	rebuild := func() (deepercluster.UpdateStats, error) {
		st.Rebuilt = true
		err := ix.build(ctx, a, nil)
		st.Took = time.Since(start)
		return st, err
	}
	g := ix.gen.Load()
	var old *snapshot
	if g != nil {
		old = g.latest()
	}
	if old == nil || g.dirty {
		st.Changed = len(a.Super)
		return rebuild()
	}
	st.From = old.a.Version
	var changed []int
	for i := range a.Super {
		if a.Super[i] != old.a.Super[i] || a.Sub[i] != old.a.Sub[i] {
			changed = append(changed, i)
		}
	}
	st.Changed = len(changed)
	if float64(len(changed)) > ix.opt.RebuildFraction*float64(len(a.Super)) {
		return rebuild()
	}

	seq := strconv.FormatUint(old.seq+1, 10)
	if err := g.pinCurrent(); err != nil {
		return st, err
	}
	fail := func(err error) (deepercluster.UpdateStats, error) {
		// Some batches may have landed: searches keep the pinned reader
		// and the next Update rebuilds; a restart rebuilds (keyPending).
		g.dirty = true
		ix.log.Warn("index update failed half-way; searches answer from the previous version until the next update rebuilds",
			"from", st.From, "to", st.To, "err", err)
		return st, fmt.Errorf("update index to version %d: %w", a.Version, err)
	}
	pb := g.bi.NewBatch()
	pb.SetInternal(keyPending, []byte(seq))
	if err := g.bi.Batch(pb); err != nil {
		return fail(err)
	}

	// The moved images in one batch per worker, and the cluster documents
	// (after the new tag counts per cluster) in one more, all at once.
	workers := max(1, min(ix.opt.Workers, len(changed)/max(1, ix.opt.BatchSize/4)))
	errs := make([]error, workers+1)
	var wg sync.WaitGroup
	for w := range workers {
		part := changed[w*len(changed)/workers : (w+1)*len(changed)/workers]
		wg.Go(func() { errs[w] = ix.indexImages(ctx, g.bi, a, slices.Values(part)) })
	}
	var snap *snapshot
	wg.Go(func() {
		s, err := ix.newSnapshot(ctx, a, old.seq+1)
		if err != nil {
			errs[workers] = err
			return
		}
		b := g.bi.NewBatch()
		if err := ix.addClusters(b, s, old.a.M, len(old.a.SubParent)); err != nil {
			errs[workers] = err
			return
		}
		if err := ctx.Err(); err != nil {
			errs[workers] = err
			return
		}
		errs[workers] = g.bi.Batch(b)
		snap = s
	})
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fail(err)
	}
	docs := time.Since(start)

	b := g.bi.NewBatch()
	ix.setInternals(b, snap)
	b.DeleteInternal(keyPending)
	// Stage first: a search that sees the new sequence key must find its
	// snapshot.
	g.stage(snap)
	apply, persist, err := applyPersistedTimed(ctx, g.bi, b)
	if err != nil {
		// ctx may have been cancelled while persisting, after the batch
		// landed: then the new version is complete in memory.
		if sb, gerr := g.bi.GetInternal(keySeq); gerr != nil || string(sb) != seq {
			return fail(err)
		}
		g.commit(snap)
		g.unpin()
		return st, fmt.Errorf("update index to version %d: not yet on disk: %w", a.Version, err)
	}
	g.commit(snap)
	g.unpin()
	st.Took = time.Since(start)
	ix.log.Info("index updated", "from", st.From, "to", st.To, "changed", st.Changed, "workers", workers,
		"took", st.Took.Round(time.Millisecond), "docs", docs.Round(time.Millisecond),
		"keys", apply.Round(time.Millisecond), "persist", persist.Round(time.Millisecond))
	return st, nil
}

// fingerprint identifies a dataset cheaply: its size, resolution and the
// photo ids of up to 1024 evenly spread images.
func fingerprint(ds deepercluster.Dataset) string {
	n := ds.Len()
	h := fnv.New64a()
	step := max(1, n/1024)
	for i := 0; i < n; i += step {
		h.Write([]byte(ds.Meta(i).PhotoID))
		h.Write([]byte{0})
	}
	return fmt.Sprintf("n=%d res=%d ids=%016x", n, ds.Resolution(), h.Sum64())
}

// isTempName tells the temporary file of an interrupted write of the
// current-generation pointer (".current.tmp*"; ".tmp-*" before the one
// atomic writer) from a file that does not belong in an index directory.
func isTempName(name string) bool {
	return strings.HasPrefix(name, "."+currentFile+".tmp") || strings.HasPrefix(name, ".tmp-")
}

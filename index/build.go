package index

import (
	"context"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/internal/atomicfile"
	"github.com/deepercluster/deepercluster/wire"
)

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

// setInternals adds the keys that say which Assignment the documents of
// b hold: its version, the snapshot sequence and the Assignment itself.
func (ix *Index) setInternals(b *bleve.Batch, s *snapshot) {
	b.SetInternal(keyVersion, []byte(strconv.FormatUint(uint64(s.a.Version), 10)))
	b.SetInternal(keySeq, []byte(strconv.FormatUint(s.seq, 10)))
	b.SetInternal(keyAssignment, wire.MarshalAssignment(s.a))
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

package index

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/deepercluster/deepercluster"
)

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

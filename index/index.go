package index

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/blevesearch/bleve/v2/mapping"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/internal/par"
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
		o.Workers = par.Threads()
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

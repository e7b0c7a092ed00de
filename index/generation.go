package index

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/blevesearch/bleve/v2"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/deepercluster/deepercluster"
)

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

// snapshot finds a staged snapshot by sequence number; nil when it is no
// longer kept.
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

// latest is the committed snapshot.
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

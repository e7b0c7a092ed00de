package index

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster"
)

// fixture is a small in-memory dataset with hand-made metadata.
type fixture struct {
	metas  []deepercluster.Meta
	labels []int // nil: no labels
}

func (f *fixture) Len() int        { return len(f.metas) }
func (f *fixture) Resolution() int { return 4 }
func (f *fixture) Image(i int, dst []byte) error {
	clear(dst[:deepercluster.ImageBytes(4)])
	return nil
}
func (f *fixture) Meta(i int) deepercluster.Meta { return f.metas[i] }
func (f *fixture) Label(i int) (int, bool) {
	if f.labels == nil {
		return 0, false
	}
	return f.labels[i], true
}

// tagged builds a fixture from tag lists, one per image.
func tagged(tags ...[]string) *fixture {
	f := &fixture{}
	for i, t := range tags {
		f.metas = append(f.metas, deepercluster.Meta{
			PhotoID: fmt.Sprintf("p%d", 1000+i), User: fmt.Sprintf("u%d", i%3),
			Title: fmt.Sprintf("photo number %d", i), Tags: t,
			Taken: time.Date(2010+i%5, 1, 1, 0, 0, 0, 0, time.UTC),
		})
	}
	return f
}

// assignment builds an Assignment from sub ids and parents.
func assignment(version uint32, m int, parent []int32, sub []int32) *deepercluster.Assignment {
	a := &deepercluster.Assignment{Version: version, M: m, SubParent: parent, Sub: sub, Super: make([]int32, len(sub))}
	for i, s := range sub {
		a.Super[i] = parent[s]
	}
	return a
}

// vocab has tags with spaces, non-ASCII letters and mixed case.
var vocab = []string{"new york", "東京", "Café", "sunset", "beach", "dog", "cat", "canon", "nikon", "2012",
	"street art", "München", "ÉCOLE", "snow", "mountain", "lake", "red", "blue", "newcastle", "news"}

// randomSet makes n images whose tags depend on a hidden concept (the
// label), plus popular unrelated tags, as the synthetic data does.
func randomSet(seed uint64, n int) *fixture {
	r := rand.New(rand.NewPCG(seed, 7))
	f := &fixture{labels: make([]int, n)}
	for i := range n {
		c := r.IntN(5)
		f.labels[i] = c
		var tags []string
		if r.Float64() < 0.8 {
			tags = append(tags, vocab[c*2], vocab[c*2+1])
		}
		for range r.IntN(3) {
			tags = append(tags, vocab[10+r.IntN(10)])
		}
		f.metas = append(f.metas, deepercluster.Meta{
			PhotoID: fmt.Sprintf("%d", 5000+i), User: fmt.Sprintf("user%d", r.IntN(9)),
			Title: fmt.Sprintf("%s walk %d", vocab[c*2+1], i), Description: "seen on a " + vocab[10+r.IntN(10)] + " day",
			Tags: tags, Taken: time.Date(2005+r.IntN(10), time.Month(1+r.IntN(12)), 1, 0, 0, 0, 0, time.UTC),
		})
	}
	return f
}

// labelAssignment clusters by label with noise: sub = label*2 + coin.
func labelAssignment(f *fixture, version uint32, noise float64, seed uint64) *deepercluster.Assignment {
	r := rand.New(rand.NewPCG(seed, 9))
	parent := []int32{0, 0, 0, 0, 1, 1, 1, 1, 2, 2}
	sub := make([]int32, f.Len())
	for i := range sub {
		l := f.labels[i]
		if r.Float64() < noise {
			l = r.IntN(5)
		}
		sub[i] = int32(l*2 + r.IntN(2))
	}
	return assignment(version, 3, parent, sub)
}

// move changes the sub-cluster of a share of the images.
func move(a *deepercluster.Assignment, share float64, seed uint64) *deepercluster.Assignment {
	r := rand.New(rand.NewPCG(seed, 11))
	sub := append([]int32(nil), a.Sub...)
	for i := range sub {
		if r.Float64() < share {
			sub[i] = int32((int(sub[i]) + 1 + r.IntN(len(a.SubParent)-1)) % len(a.SubParent))
		}
	}
	return assignment(a.Version+1, a.M, append([]int32(nil), a.SubParent...), sub)
}

func testOptions() Options {
	return Options{BatchSize: 37, Workers: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// built opens an index in a fresh directory and builds a.
func built(t *testing.T, ds deepercluster.Dataset, a *deepercluster.Assignment) (*Index, string) {
	t.Helper()
	dir := t.TempDir()
	ix, err := Open(dir, ds, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	if err := ix.Build(context.Background(), a, nil); err != nil {
		t.Fatal(err)
	}
	return ix, dir
}

// Command benchindex measures the index on the synthetic dataset: full build
// speed, size on disk, a re-index after 10% of the images move, and the
// latency of single-tag cluster searches drawn from the tag frequencies.
// Beside our search it runs the stock bleve route (a search request with a
// terms facet over the sub-cluster field) on the same queries, with the
// same scoring setting as ours (none: counts, no relevance) and the same
// warm-up, in alternating blocks (ours, peer, ours, ...), checks that both
// count the same, and prints the ratio. The last line of output is one
// JSON object (Result: build_docs_per_s, disk_mb, update_speedup,
// search_median_ms, search_p99_ms, peer_search_median_ms,
// peer_search_p99_ms, ...).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/blevesearch/bleve/v2"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/bench/internal/benchstat"
	"github.com/deepercluster/deepercluster/dataset/synthetic"
	"github.com/deepercluster/deepercluster/index"
)

var cpuprofile, profilePart string

func main() {
	n := flag.Int("n", 100_000, "images")
	m := flag.Int("m", 16, "super-clusters")
	k := flag.Int("k", 1024, "sub-clusters")
	queries := flag.Int("queries", 200, "timed single-tag searches per block")
	rounds := flag.Int("rounds", 3, "alternating blocks of our searches and the peer's")
	batch := flag.Int("batch", 0, "images per batch (0: index default)")
	workers := flag.Int("workers", 0, "batches at once (0: index default)")
	dir := flag.String("dir", "", "work directory (default: a temporary one, removed)")
	flag.StringVar(&cpuprofile, "cpuprofile", "", "write a CPU profile here")
	flag.StringVar(&profilePart, "profile", "build", "what -cpuprofile covers: build, update or search")
	flag.Parse()
	if err := run(*n, *m, *k, *queries, *rounds, *batch, *workers, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "benchindex:", err)
		os.Exit(1)
	}
}

// Result is the JSON line.
type Result struct {
	BuildDocsPerS  float64 `json:"build_docs_per_s"`
	DiskMB         float64 `json:"disk_mb"`
	UpdateSpeedup  float64 `json:"update_speedup"`
	SearchMedianMS float64 `json:"search_median_ms"`
	SearchP99MS    float64 `json:"search_p99_ms"`
	// The peer: stock bleve, a terms facet over the sub-cluster field.
	PeerSearchMedianMS float64 `json:"peer_search_median_ms"`
	PeerSearchP99MS    float64 `json:"peer_search_p99_ms"`
	// PeerScore is the scoring both sides use; Rounds the alternating
	// blocks; Queries the timed queries per side.
	PeerScore string  `json:"peer_score"`
	Rounds    int     `json:"rounds"`
	Queries   int     `json:"queries"`
	LoadAvg   float64 `json:"load_avg_1m"`
	// The machine; the peer is bleve in this process, on the same
	// GOMAXPROCS.
	benchstat.MachineInfo
}

func run(n, m, k, queries, rounds, batch, workers int, dir string) error {
	ctx := context.Background()
	ds, err := synthetic.New(synthetic.Config{Seed: 1, N: n, Resolution: 32})
	if err != nil {
		return err
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "benchindex-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	r := rand.New(rand.NewPCG(1, 2))
	v1 := synthAssignment(ds, m, k, r)
	v2 := moveShare(v1, 0.10, r)

	quiet := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ix, err := index.Open(filepath.Join(dir, "index"), ds, index.Options{BatchSize: batch, Workers: workers, Logger: quiet})
	if err != nil {
		return err
	}
	defer ix.Close()
	profile := func(on bool) {}
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		profile = func(on bool) {
			if on {
				_ = pprof.StartCPUProfile(f)
			} else {
				pprof.StopCPUProfile()
			}
		}
		defer pprof.StopCPUProfile()
	}
	if profilePart == "build" {
		profile(true)
	}

	cpu0 := cpuTime()
	t0 := time.Now()
	last := time.Now()
	if err := ix.Build(ctx, v1, func(done, total int) {
		if time.Since(last) > 2*time.Second || done == total {
			fmt.Fprintf(os.Stderr, "build %d/%d images, %.0f docs/s\n", done, total, float64(done)/time.Since(t0).Seconds())
			last = time.Now()
		}
	}); err != nil {
		return err
	}
	build := time.Since(t0)
	buildCPU := cpuTime() - cpu0
	diskMB := float64(dirSize(filepath.Join(dir, "index"))) / (1 << 20)
	fmt.Printf("build: %d images in %v: %.0f docs/s (target >= 8000); %.1f MB on disk; %.1f s of CPU (%.0f docs per CPU-second)\n",
		n, build.Round(time.Millisecond), float64(n)/build.Seconds(), diskMB, buildCPU.Seconds(), float64(n)/buildCPU.Seconds())

	if profilePart == "update" {
		profile(true)
	}
	t1 := time.Now()
	st, err := ix.Update(ctx, v2)
	if err != nil {
		return err
	}
	upd := time.Since(t1)
	if profilePart == "update" {
		profile(false)
	}
	if st.Rebuilt {
		return fmt.Errorf("update fell back to a full build: %+v", st)
	}
	fmt.Printf("update: %d images moved, %d cluster docs, in %v: %.1fx faster than the full build (target >= 5x)\n",
		st.Changed, st.Clusters, upd.Round(time.Millisecond), build.Seconds()/upd.Seconds())

	// Queries drawn from the tag frequency: a random tag occurrence.
	draw := func(r *rand.Rand) string {
		for {
			tags := ds.Meta(r.IntN(n)).Tags
			if len(tags) > 0 {
				return tags[r.IntN(len(tags))]
			}
		}
	}
	// The same warm-up (20 queries, not timed: page cache, pools) and the
	// same timed queries for both sides.
	wr := rand.New(rand.NewPCG(3, 4))
	warm := make([]string, 20)
	for i := range warm {
		warm[i] = draw(wr)
	}
	qr := rand.New(rand.NewPCG(5, 6))
	tags := make([]string, queries)
	for i := range tags {
		tags[i] = draw(qr)
	}
	// Exact counts of the first queries, for the peer's cross-check.
	check := map[string]*deepercluster.SearchResult{}
	for _, tag := range tags[:min(20, len(tags))] {
		res, err := ix.Search(ctx, deepercluster.Query{Tags: []string{tag}, Limit: index.MaxLimit})
		if err != nil {
			return err
		}
		check[tag] = res
	}
	var ours, peer []float64
	totalMatches := 0
	for r := range max(rounds, 1) {
		if r > 0 {
			if ix, err = index.Open(filepath.Join(dir, "index"), ds, index.Options{BatchSize: batch, Workers: workers, Logger: quiet}); err != nil {
				return err
			}
		}
		for _, tag := range warm {
			if _, err := ix.Search(ctx, deepercluster.Query{Tags: []string{tag}}); err != nil {
				return err
			}
		}
		if profilePart == "search" && r == 0 {
			profile(true)
		}
		for _, tag := range tags {
			t := time.Now()
			res, err := ix.Search(ctx, deepercluster.Query{Tags: []string{tag}})
			if err != nil {
				return fmt.Errorf("search %q: %w", tag, err)
			}
			ours = append(ours, float64(time.Since(t).Microseconds())/1000)
			totalMatches += res.Matches
		}
		profile(false)
		if err := ix.Close(); err != nil { // the peer needs the directory's lock
			return err
		}
		lat, err := facetPeer(ctx, check, dir, warm, tags, k)
		if err != nil {
			return err
		}
		peer = append(peer, lat...)
	}
	med, p99 := percentile(ours, 0.5), percentile(ours, 0.99)
	pm, p99p := percentile(peer, 0.5), percentile(peer, 0.99)
	fmt.Printf("search: %d single-tag queries x %d blocks (mean %d matching images): median %.2f ms, p99 %.2f ms (targets <= 5, <= 30)\n",
		queries, rounds, totalMatches/max(len(ours), 1), med, p99)
	fmt.Printf("peer (bleve terms facet over sub, score none, same warm-up, alternating blocks): median %.2f ms, p99 %.2f ms; ours is %.1fx faster at the median (counts agree on 20 queries)\n",
		pm, p99p, pm/med)

	out, _ := json.Marshal(Result{
		BuildDocsPerS: round(float64(n)/build.Seconds(), 1), DiskMB: round(diskMB, 2),
		UpdateSpeedup: round(build.Seconds()/upd.Seconds(), 2), SearchMedianMS: round(med, 3), SearchP99MS: round(p99, 3),
		PeerSearchMedianMS: round(pm, 3), PeerSearchP99MS: round(p99p, 3), PeerScore: "none", Rounds: rounds, Queries: queries,
		LoadAvg: benchstat.LoadAvg(), MachineInfo: benchstat.Machine(runtime.GOMAXPROCS(0)),
	})
	fmt.Println(string(out))
	return nil
}

// facetPeer answers the same queries the stock bleve way, a terms facet
// over the sub-cluster field, with our scoring setting (none) and after
// the same warm-up queries, on the index directory opened by bleve
// itself, and checks the counts agree (our index is closed by then: bleve
// locks its directory). It returns the latency of each timed query.
func facetPeer(ctx context.Context, check map[string]*deepercluster.SearchResult, dir string, warm, tags []string, k int) ([]float64, error) {
	cur, err := os.ReadFile(filepath.Join(dir, "index", "CURRENT"))
	if err != nil {
		return nil, err
	}
	bi, err := bleve.Open(filepath.Join(dir, "index", strings.TrimSpace(string(cur))))
	if err != nil {
		return nil, fmt.Errorf("peer: %w", err)
	}
	defer bi.Close()
	request := func(tag string) *bleve.SearchRequest {
		q := bleve.NewTermQuery(normalise(tag))
		q.SetField("tag")
		req := bleve.NewSearchRequestOptions(q, 0, 0, false)
		req.Score = "none" // as ours: counts only, no relevance scores
		req.AddFacet("sub", bleve.NewFacetRequest("sub", k))
		return req
	}
	for _, tag := range warm {
		if _, err := bi.SearchInContext(ctx, request(tag)); err != nil {
			return nil, fmt.Errorf("peer warm-up %q: %w", tag, err)
		}
	}
	lat := make([]float64, len(tags))
	for i, tag := range tags {
		req := request(tag)
		t := time.Now()
		res, err := bi.SearchInContext(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("peer search %q: %w", tag, err)
		}
		lat[i] = float64(time.Since(t).Microseconds()) / 1000
		if ours, ok := check[tag]; ok { // cross-check the counts
			got := map[string]int{}
			for _, h := range ours.Subs {
				got[fmt.Sprint(h.ID)] = h.Count
			}
			f := res.Facets["sub"]
			if f.Terms != nil {
				for _, tf := range f.Terms.Terms() {
					if got[tf.Term] != tf.Count {
						return nil, fmt.Errorf("tag %q sub-cluster %s: we count %d, the facet %d", tag, tf.Term, got[tf.Term], tf.Count)
					}
				}
			}
			if int(res.Total) != ours.Matches {
				return nil, fmt.Errorf("tag %q: we match %d, bleve %d", tag, ours.Matches, res.Total)
			}
		}
	}
	return lat, nil
}

// normalise is what the index does to a query tag (trim, lower-case).
func normalise(tag string) string { return strings.ToLower(strings.TrimSpace(tag)) }

func synthAssignment(ds *synthetic.Dataset, m, k int, r *rand.Rand) *deepercluster.Assignment {
	n := ds.Len()
	a := &deepercluster.Assignment{Version: 1, M: m, Super: make([]int32, n), Sub: make([]int32, n), SubParent: make([]int32, k)}
	for j := range a.SubParent {
		a.SubParent[j] = int32(j % m)
	}
	per := k / m
	for i := range n {
		l, _ := ds.Label(i)
		var sub int
		if r.Float64() < 0.8 { // the concept's super-cluster, one of 4 of its subs
			sub = l%m + m*((l/m*7+r.IntN(4))%per)
		} else {
			sub = r.IntN(k)
		}
		a.Sub[i], a.Super[i] = int32(sub), a.SubParent[sub]
	}
	return a
}

// moveShare moves exactly share of the images to another sub-cluster.
func moveShare(a *deepercluster.Assignment, share float64, r *rand.Rand) *deepercluster.Assignment {
	b := &deepercluster.Assignment{Version: a.Version + 1, M: a.M, Super: slices.Clone(a.Super), Sub: slices.Clone(a.Sub), SubParent: a.SubParent}
	k := len(a.SubParent)
	for _, i := range r.Perm(len(a.Sub))[:int(share*float64(len(a.Sub)))] {
		s := (int(a.Sub[i]) + 1 + r.IntN(k-1)) % k
		b.Sub[i], b.Super[i] = int32(s), a.SubParent[s]
	}
	return b
}

func percentile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

func round(x float64, d int) float64 {
	f := 1.0
	for range d {
		f *= 10
	}
	return float64(int64(x*f+0.5)) / f
}

func dirSize(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return total
}

// cpuTime is the CPU time this process used so far (user + system): the
// machine is shared, so wall time alone can mislead.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

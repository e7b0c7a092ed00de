// Command benchmap measures the 2D map's computation (package layout2d) on
// generated features: a mixture of -clusters Gaussian clusters of varied
// spread in -dim dimensions, L2-normalised (the shape of the features the
// trainer hands the server). It times the kNN graph and the layout of
// 100,000 and 1,000,000 points on -threads goroutines and measures each
// graph's recall@10 against exact search on a 1,000-query sample. For
// trustworthiness it draws a fixed random sample of 10,000 of the 100,000
// points, scores the timed 100,000-point layout restricted to that sample
// and lays the sample out alone as well. It writes the features, the
// queries, the sample's rows and both layouts of the sample under -dir for
// the Python peers (bench/map/peers.py: pynndescent, scikit-learn's t-SNE
// and trustworthiness on the same sample), and prints one JSON object as
// its last line.
//
// The settings (k, epochs, learning rate: layout2d's defaults) were chosen
// on a draw with -seed 2; the benchmark uses -seed 1.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/deepercluster/deepercluster/bench/internal/benchstat"
	"github.com/deepercluster/deepercluster/layout2d"
)

func main() {
	dir := flag.String("dir", "", "folder for the data files the peers read (required)")
	seed := flag.Uint64("seed", 1, "data draw (settings were chosen on 2)")
	dim := flag.Int("dim", 64, "feature dimension")
	clusters := flag.Int("clusters", 100, "Gaussian clusters")
	threads := flag.Int("threads", 2, "goroutines")
	k := flag.Int("k", 15, "neighbours of the graph")
	small := flag.Int("n", 100_000, "points of the first size")
	large := flag.Int("large", 1_000_000, "points of the second size (0: skip)")
	sample := flag.Int("sample", 10_000, "points of the trustworthiness sample")
	queries := flag.Int("queries", 1000, "queries of the recall sample")
	epochs := flag.Int("epochs", 0, "layout epochs (0: layout2d.DefaultEpochs of each size)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the 100k layout here")
	knnOnly := flag.Bool("knn-only", false, "time the kNN graphs and their recall only (no layouts, no files for the peers): for tuning layout2d.KNNOptions")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "benchmap: -dir is required")
		os.Exit(2)
	}
	benchstat.SetThreads(*threads) // ours on as many threads as the peers, whatever the machine
	c := config{dir: *dir, seed: *seed, dim: *dim, clusters: *clusters, threads: *threads, k: *k,
		small: *small, large: *large, sample: *sample, queries: *queries, cpuprofile: *cpuprofile, epochs: *epochs, knnOnly: *knnOnly}
	if err := run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "benchmap:", err)
		os.Exit(1)
	}
}

type config struct {
	dir                           string
	seed                          uint64
	dim, clusters, threads, k     int
	small, large, sample, queries int
	cpuprofile                    string
	epochs                        int
	knnOnly                       bool
}

// Result is the JSON line.
type Result struct {
	Layout100kS float64  `json:"layout_100k_s"`
	Layout1mS   *float64 `json:"layout_1m_s,omitempty"`
	KNN100kS    float64  `json:"knn_100k_s"`
	KNNRecall10 float64  `json:"knn_recall10"`
	Embed100kS  float64  `json:"embed_100k_s"`
	KNN1mS      *float64 `json:"knn_1m_s,omitempty"`
	// KNNRecall10At1m is the 1,000,000-point graph's recall@10 on 1,000
	// queries of its own.
	KNNRecall10At1m *float64 `json:"knn_recall10_1m,omitempty"`
	// CPU seconds of the process (all goroutines): on a shared machine
	// they say what the wall times would be without the other load.
	KNN100kCPUS    float64  `json:"knn_100k_cpu_s"`
	Layout100kCPUS float64  `json:"layout_100k_cpu_s"`
	Layout1mCPUS   *float64 `json:"layout_1m_cpu_s,omitempty"`
	KNN1mCPUS      *float64 `json:"knn_1m_cpu_s,omitempty"`
	// TrustworthyGo scores the sample laid out alone, Trustworthy100kGo
	// the timed 100,000-point layout restricted to the sample (both with
	// layout2d.Trustworthiness; peers.py scores them with scikit-learn).
	TrustworthyGo     float64 `json:"trustworthiness_go"`
	Trustworthy100kGo float64 `json:"trustworthiness_100k_go"`
	SampleLayoutS     float64 `json:"sample_layout_s"`
	Points            int     `json:"points"`
	Dim               int     `json:"dim"`
	K                 int     `json:"k"`
	Threads           int     `json:"threads"`
	Epochs100k        int     `json:"epochs_100k"`
	Epochs1m          int     `json:"epochs_1m,omitempty"`
	Seed              uint64  `json:"seed"`
	// The machine; the peers (scripts/bench-map.sh) get Threads too.
	benchstat.MachineInfo
}

// mixture draws n L2-normalised rows: cluster j has its centre drawn from a
// standard normal and spread 0.4 + 0.8*j/clusters.
func mixture(n, d, clusters int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x6d6170))
	centres := make([]float64, clusters*d)
	for i := range centres {
		centres[i] = rng.NormFloat64()
	}
	x := make([]float32, n*d)
	for i := range n {
		j := rng.IntN(clusters)
		s := 0.4 + 0.8*float64(j)/float64(clusters)
		row := x[i*d : (i+1)*d]
		var nrm float64
		for t := range d {
			v := centres[j*d+t] + s*rng.NormFloat64()
			row[t] = float32(v)
			nrm += v * v
		}
		inv := float32(1 / math.Sqrt(nrm))
		for t := range row {
			row[t] *= inv
		}
	}
	return x
}

func writeF32(path string, v []float32) error {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func writeI32(path string, v []int32) error {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchmap: "+format+"\n", args...)
}

// cpuSeconds is the process's user and system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// timing is what layout measured.
type timing struct {
	knnS, embedS, knnCPU, totalCPU float64
	epochs                         int
}

// layout builds the graph and the layout of x, timing each.
func layout(ctx context.Context, x []float32, n int, c config, exactBelow int) (*layout2d.Graph, []float32, []float32, timing, error) {
	var tm timing
	c0, t0 := cpuSeconds(), time.Now()
	g, err := layout2d.KNN(ctx, x, n, c.dim, layout2d.KNNOptions{K: c.k, Threads: c.threads, Seed: c.seed, ExactBelow: exactBelow})
	if err != nil {
		return nil, nil, nil, tm, err
	}
	tm.knnS, tm.knnCPU = time.Since(t0).Seconds(), cpuSeconds()-c0
	t1 := time.Now()
	tm.epochs = layout2d.DefaultEpochs(n)
	if c.epochs > 0 {
		tm.epochs = c.epochs
	}
	xs, ys, err := layout2d.Embed(ctx, g, x, c.dim, layout2d.EmbedOptions{Threads: c.threads, Seed: c.seed, Epochs: tm.epochs})
	tm.embedS, tm.totalCPU = time.Since(t1).Seconds(), cpuSeconds()-c0
	return g, xs, ys, tm, err
}

// graphRecall builds the kNN graph of n points drawn with seed and measures
// its recall@10 on c.queries queries: wall and CPU seconds, recall.
func graphRecall(ctx context.Context, c config, n int, seed uint64) (wall, cpu, recall float64, err error) {
	x := mixture(n, c.dim, c.clusters, seed)
	c0, t0 := cpuSeconds(), time.Now()
	g, err := layout2d.KNN(ctx, x, n, c.dim, layout2d.KNNOptions{K: c.k, Threads: c.threads, Seed: c.seed, ExactBelow: -1})
	if err != nil {
		return 0, 0, 0, fmt.Errorf("knn of %d points: %w", n, err)
	}
	wall, cpu = time.Since(t0).Seconds(), cpuSeconds()-c0
	qs := drawQueries(c.queries, n, seed)
	exact, err := layout2d.ExactKNN(ctx, x, n, c.dim, 10, qs, c.threads)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("exact neighbours of %d points: %w", n, err)
	}
	recall, err = layout2d.Recall(g, exact, qs)
	logf("%d points: knn %.1f s (%.1f s CPU), recall@10 %.4f", n, wall, cpu, recall)
	return wall, cpu, recall, err
}

// runKNNOnly is -knn-only: the graphs of both sizes (the same draws as the
// full run) and their recall.
func runKNNOnly(ctx context.Context, c config) error {
	res := Result{Points: c.small, Dim: c.dim, K: c.k, Threads: c.threads, Seed: c.seed, MachineInfo: benchstat.Machine(c.threads)}
	var err error
	if res.KNN100kS, res.KNN100kCPUS, res.KNNRecall10, err = graphRecall(ctx, c, c.small, c.seed); err != nil {
		return err
	}
	if c.large > 0 {
		wall, cpu, r, err := graphRecall(ctx, c, c.large, c.seed+100)
		if err != nil {
			return err
		}
		res.KNN1mS, res.KNN1mCPUS, res.KNNRecall10At1m = &wall, &cpu, &r
	}
	out, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}

func run(ctx context.Context, c config) error {
	if c.knnOnly {
		return runKNNOnly(ctx, c)
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	res := Result{Points: c.small, Dim: c.dim, K: c.k, Threads: c.threads, Seed: c.seed, MachineInfo: benchstat.Machine(c.threads)}
	x := mixture(c.small, c.dim, c.clusters, c.seed)
	if err := writeF32(filepath.Join(c.dir, "features.f32"), x); err != nil {
		return err
	}
	qs := drawQueries(c.queries, c.small, c.seed)
	if err := writeI32(filepath.Join(c.dir, "queries.i32"), qs); err != nil {
		return err
	}
	logf("%d points x %d, %d clusters, seed %d, %d threads", c.small, c.dim, c.clusters, c.seed, c.threads)

	if c.cpuprofile != "" {
		pf, err := os.Create(c.cpuprofile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
	}
	g, lx, ly, tm, err := layout(ctx, x, c.small, c, -1)
	if c.cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return fmt.Errorf("layout %d: %w", c.small, err)
	}
	res.KNN100kS, res.Embed100kS, res.Epochs100k = tm.knnS, tm.embedS, tm.epochs
	res.Layout100kS = tm.knnS + tm.embedS
	res.KNN100kCPUS, res.Layout100kCPUS = tm.knnCPU, tm.totalCPU
	logf("%d points: knn %.1f s (%.1f s CPU), layout %.1f s (%d epochs; %.1f s CPU in all)", c.small, tm.knnS, tm.knnCPU, tm.embedS, tm.epochs, tm.totalCPU)
	exact, err := layout2d.ExactKNN(ctx, x, c.small, c.dim, 10, qs, c.threads)
	if err != nil {
		return err
	}
	if res.KNNRecall10, err = layout2d.Recall(g, exact, qs); err != nil {
		return err
	}
	logf("recall@10 %.4f", res.KNNRecall10)
	// The exact neighbours of the queries, for the peer's recall.
	if err := writeI32(filepath.Join(c.dir, "exact10.i32"), exact.Index); err != nil {
		return err
	}

	// Trustworthiness: a fixed random sample of the points, scored in
	// the timed layout and laid out on its own.
	ns := c.sample
	smp := drawSample(ns, c.small, c.seed)
	if err := writeI32(filepath.Join(c.dir, "sample.i32"), smp); err != nil {
		return err
	}
	xsmp := make([]float32, ns*c.dim)
	pos := make([]float32, 2*ns)
	for r, i := range smp {
		copy(xsmp[r*c.dim:(r+1)*c.dim], x[int(i)*c.dim:(int(i)+1)*c.dim])
		pos[2*r], pos[2*r+1] = lx[i], ly[i]
	}
	if err := writeF32(filepath.Join(c.dir, "sample_layout_100k.f32"), pos); err != nil {
		return err
	}
	if res.Trustworthy100kGo, err = layout2d.Trustworthiness(ctx, xsmp, c.dim, pos, 2, 10, c.threads); err != nil {
		return err
	}
	logf("the %d-point layout on the sample of %d: trustworthiness %.4f (our Go scoring)", c.small, ns, res.Trustworthy100kGo)
	t0 := time.Now()
	_, sx, sy, _, err := layout(ctx, xsmp, ns, c, 0)
	if err != nil {
		return fmt.Errorf("layout of the sample: %w", err)
	}
	res.SampleLayoutS = time.Since(t0).Seconds()
	for i := range ns {
		pos[2*i], pos[2*i+1] = sx[i], sy[i]
	}
	if err := writeF32(filepath.Join(c.dir, "sample_layout.f32"), pos); err != nil {
		return err
	}
	if res.TrustworthyGo, err = layout2d.Trustworthiness(ctx, xsmp, c.dim, pos, 2, 10, c.threads); err != nil {
		return err
	}
	logf("sample of %d: layout %.1f s, trustworthiness %.4f (our Go scoring)", ns, res.SampleLayoutS, res.TrustworthyGo)

	if c.large > 0 {
		x = nil
		runtime.GC()
		xl := mixture(c.large, c.dim, c.clusters, c.seed+100)
		gl, _, _, tm, err := layout(ctx, xl, c.large, c, -1)
		if err != nil {
			return fmt.Errorf("layout %d: %w", c.large, err)
		}
		t := tm.knnS + tm.embedS
		res.Layout1mS, res.KNN1mS, res.Layout1mCPUS, res.Epochs1m = &t, &tm.knnS, &tm.totalCPU, tm.epochs
		res.KNN1mCPUS = &tm.knnCPU
		logf("%d points: knn %.1f s (%.1f s CPU), layout %.1f s (%d epochs; %.1f s CPU in all)", c.large, tm.knnS, tm.knnCPU, tm.embedS, tm.epochs, tm.totalCPU)
		ql := drawQueries(c.queries, c.large, c.seed+100)
		exl, err := layout2d.ExactKNN(ctx, xl, c.large, c.dim, 10, ql, c.threads)
		if err != nil {
			return fmt.Errorf("exact neighbours of %d points: %w", c.large, err)
		}
		r, err := layout2d.Recall(gl, exl, ql)
		if err != nil {
			return err
		}
		res.KNNRecall10At1m = &r
		logf("%d points: recall@10 %.4f", c.large, r)
	}
	out, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}

// drawQueries draws the rows of the recall sample, with repeats.
func drawQueries(q, n int, seed uint64) []int32 {
	rng := rand.New(rand.NewPCG(seed, 0x71))
	qs := make([]int32, q)
	for i := range qs {
		qs[i] = int32(rng.IntN(n))
	}
	return qs
}

// drawSample draws m distinct rows of n, in increasing order: the same
// rows for a seed.
func drawSample(m, n int, seed uint64) []int32 {
	rng := rand.New(rand.NewPCG(seed, 0x73))
	perm := rng.Perm(n)[:m]
	out := make([]int32, m)
	for r, i := range perm {
		out[r] = int32(i)
	}
	slices.Sort(out)
	return out
}

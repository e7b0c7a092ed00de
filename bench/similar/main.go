// Command benchsimilar measures GET /api/images/{id}/similar on the real
// server: the synthetic dataset of -n images, an Assignment, and n x -dim
// L2-normalised features (clustered: -centers Gaussian blobs, the shape of
// what the trainer's PCA hands over) given to the server as the trainer
// gives them (OnAssignment, OnFeatures). It times -queries requests over
// HTTP on loopback for random images (k = -k), and the exact search alone
// in process (cluster.KNN), then, as the peer, the same queries with numpy
// (one matrix-vector product and argpartition) and faiss (IndexFlatIP) on
// the same features in /usr/bin/python3, with the same number of threads
// (-threads, ours' GOMAXPROCS too). Every side gets the same 20 warm-up
// queries. search_median_ms (in process) is the like-for-like figure
// beside numpy_median_ms and faiss_median_ms; similar_median_ms adds HTTP.
// The server's neighbours must be numpy's exact ones (agreement >= 0.99):
// less, or a peer that does not run, fails the bench with exit status 1.
// The last line of output is one JSON object whose first keys are
// similar_median_ms, similar_p99_ms and images.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/bench/internal/benchstat"
	"github.com/deepercluster/deepercluster/cluster"
	"github.com/deepercluster/deepercluster/dataset/synthetic"
	"github.com/deepercluster/deepercluster/server"
)

func main() {
	n := flag.Int("n", 100_000, "images")
	dim := flag.Int("dim", 64, "feature dimension (the trainer's default pca_dim)")
	centers := flag.Int("centers", 256, "Gaussian blobs the features are drawn around")
	queries := flag.Int("queries", 300, "timed requests")
	k := flag.Int("k", 12, "similar images per request (the image view's)")
	python := flag.String("python", "/usr/bin/python3", "interpreter with numpy and faiss for the peer (empty: no peer)")
	threads := flag.Int("threads", 2, "threads of ours (GOMAXPROCS) and of the peer (OMP/OpenBLAS/faiss)")
	flag.Parse()
	benchstat.SetThreads(*threads)
	if err := run(*n, *dim, *centers, *queries, *k, *python); err != nil {
		fmt.Fprintln(os.Stderr, "benchsimilar:", err)
		os.Exit(1)
	}
}

// Result is the JSON line: the server's figures first.
type Result struct {
	// SimilarMedianMS is GET /api/images/{id}/similar over HTTP on
	// loopback: the search plus HTTP, JSON and the handler.
	SimilarMedianMS float64 `json:"similar_median_ms"`
	SimilarP99MS    float64 `json:"similar_p99_ms"`
	Images          int     `json:"images"`
	Dim             int     `json:"dim"`
	K               int     `json:"k"`
	Queries         int     `json:"queries"`
	Threads         int     `json:"threads"`
	// SearchMedianMS is the exact search alone, in process, after the
	// same warm-up: the like-for-like figure beside numpy's and faiss's.
	SearchMedianMS float64 `json:"search_median_ms"`
	// FeatureMB is what the server holds for the search.
	FeatureMB float64 `json:"feature_mb"`
	// The peer, on the same features and queries.
	NumpyMedianMS *float64 `json:"numpy_median_ms,omitempty"`
	NumpyP99MS    *float64 `json:"numpy_p99_ms,omitempty"`
	FaissMedianMS *float64 `json:"faiss_median_ms,omitempty"`
	FaissP99MS    *float64 `json:"faiss_p99_ms,omitempty"`
	PeerAgreement *float64 `json:"peer_agreement,omitempty"`
	LoadAvg       string   `json:"load_avg"`
	// The machine; peer_threads is Threads when the peer ran.
	benchstat.MachineInfo
}

func run(n, dim, centers, queries, k int, python string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ds, err := synthetic.New(synthetic.Config{Seed: 1, N: n, Resolution: 32})
	if err != nil {
		return err
	}
	feats := clusteredFeatures(n, dim, centers, 7)
	a := randomAssignment(n, 16, 16, 3)
	srv, err := server.New(server.Config{}, ds, nil, log)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Run(ctx)
	srv.OnAssignment(a)
	srv.OnFeatures(feats)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}

	// Ready once the features are indexed.
	deadline := time.Now().Add(time.Minute)
	for {
		code, _, err := get(client, base+"/api/images/0/similar?k=1")
		if err == nil && code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server never answered similar images: HTTP %d %v", code, err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	rng := rand.New(rand.NewPCG(11, 12))
	ids := make([]int, queries)
	for i := range ids {
		ids[i] = rng.IntN(n)
	}
	// Warm up: connections, page faults.
	for _, id := range ids[:min(20, len(ids))] {
		get(client, fmt.Sprintf("%s/api/images/%d/similar?k=%d", base, id, k))
	}
	lat := make([]float64, 0, queries)
	got := make([][]int, queries)
	for i, id := range ids {
		t0 := time.Now()
		code, body, err := get(client, fmt.Sprintf("%s/api/images/%d/similar?k=%d", base, id, k))
		lat = append(lat, ms(time.Since(t0)))
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("similar %d: HTTP %d %v %s", id, code, err, body)
		}
		var ans struct {
			Images []struct {
				ID int `json:"id"`
			} `json:"images"`
		}
		if err := json.Unmarshal(body, &ans); err != nil {
			return err
		}
		for _, im := range ans.Images {
			got[i] = append(got[i], im.ID)
		}
	}
	knn, err := cluster.NewKNN(feats.Data, n, dim)
	if err != nil {
		return err
	}
	// The same warm-up as over HTTP and in the peers.
	for _, id := range ids[:min(20, len(ids))] {
		if _, err := knn.Search(feats.Row(id), k, id); err != nil {
			return err
		}
	}
	var search []float64
	for _, id := range ids {
		t0 := time.Now()
		if _, err := knn.Search(feats.Row(id), k, id); err != nil {
			return err
		}
		search = append(search, ms(time.Since(t0)))
	}
	res := Result{SimilarMedianMS: quantile(lat, 0.5), SimilarP99MS: quantile(lat, 0.99), Images: n, Dim: dim, K: k,
		Queries: queries, Threads: runtime.GOMAXPROCS(0), SearchMedianMS: quantile(search, 0.5),
		FeatureMB: math.Round(float64(4*n*dim+4*n)/(1<<20)*10) / 10, LoadAvg: loadAvg(), MachineInfo: benchstat.Machine(0)}
	fmt.Fprintf(os.Stderr, "server over HTTP (similar_median_ms): median %.2f ms, p99 %.2f ms; exact search alone in process (search_median_ms, like numpy and faiss): median %.2f ms (%d x %d, k %d, %d threads)\n",
		res.SimilarMedianMS, res.SimilarP99MS, res.SearchMedianMS, n, dim, k, res.Threads)
	if python != "" {
		res.PeerThreads = res.Threads
		perr := peer(python, feats, ids, k, got, &res)
		if perr != nil && res.PeerAgreement == nil {
			return fmt.Errorf("peer: %w (make bench-deps installs numpy and faiss; -python '' runs without a peer)", perr)
		}
		if perr != nil {
			// Print the figures, then fail: wrong neighbours are not
			// a speed to compare.
			if out, err := json.Marshal(res); err == nil {
				fmt.Println(string(out))
			}
			return perr
		}
	}
	out, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}

func get(c *http.Client, u string) (int, []byte, error) {
	resp, err := c.Get(u)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func quantile(x []float64, q float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	if len(s) == 0 {
		return math.NaN()
	}
	return math.Round(s[min(len(s)-1, int(q*float64(len(s))))]*1000) / 1000
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// clusteredFeatures draws n rows around centers random unit centres with
// noise, L2-normalised.
func clusteredFeatures(n, d, centers int, seed uint64) *deepercluster.Features {
	rng := rand.New(rand.NewPCG(seed, 1))
	c := make([]float64, centers*d)
	for i := range c {
		c[i] = rng.NormFloat64()
	}
	f := &deepercluster.Features{Version: 1, N: n, Dim: d, Data: make([]float32, n*d)}
	for i := range n {
		ci := rng.IntN(centers)
		row := f.Row(i)
		s := 0.0
		for j := range row {
			v := c[ci*d+j] + 0.6*rng.NormFloat64()
			row[j] = float32(v)
			s += v * v
		}
		inv := float32(1 / math.Sqrt(s))
		for j := range row {
			row[j] *= inv
		}
	}
	return f
}

func randomAssignment(n, m, k int, seed uint64) *deepercluster.Assignment {
	rng := rand.New(rand.NewPCG(seed, 1))
	a := &deepercluster.Assignment{Version: 1, M: m, Super: make([]int32, n), Sub: make([]int32, n)}
	for j := 0; j < m*k; j++ {
		a.SubParent = append(a.SubParent, int32(j/k))
	}
	for i := range n {
		z := int32(rng.IntN(m * k))
		a.Sub[i], a.Super[i] = z, a.SubParent[z]
	}
	return a
}

// peerScript searches the same features for the same query rows with
// numpy and faiss, one query at a time as the server does, leaving the
// query row out, and prints one JSON object.
const peerScript = `
import json, sys, time
import numpy as np
path, n, d, k, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
ids = [int(x) for x in sys.argv[6].split(",")]
X = np.fromfile(path, dtype="<f4").reshape(n, d)
out = {}
def timed(search):
    lat, res = [], []
    for i in ids[:20]:
        search(i)
    for i in ids:
        t0 = time.perf_counter()
        r = search(i)
        lat.append((time.perf_counter() - t0) * 1000)
        res.append([int(v) for v in r])
    lat.sort()
    return lat[len(lat)//2], lat[min(len(lat)-1, int(0.99*len(lat)))], res
def np_search(i):
    s = X @ X[i]
    s[i] = -np.inf
    top = np.argpartition(-s, k)[:k]
    return top[np.argsort(-s[top], kind="stable")]
out["numpy_median_ms"], out["numpy_p99_ms"], out["numpy_ids"] = timed(np_search)
try:
    import faiss
    faiss.omp_set_num_threads(threads)
    index = faiss.IndexFlatIP(d)
    index.add(X)
    def fs(i):
        _, I = index.search(X[i:i+1], k + 1)
        return [v for v in I[0] if v != i][:k]
    out["faiss_median_ms"], out["faiss_p99_ms"], _ = timed(fs)
except ImportError as e:
    out["faiss_error"] = str(e)
print(json.dumps(out))
`

func peer(python string, f *deepercluster.Features, ids []int, k int, got [][]int, res *Result) error {
	if _, err := os.Stat(python); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "benchsimilar")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "features.f32")
	var buf bytes.Buffer
	buf.Grow(4 * len(f.Data))
	if err := binary.Write(&buf, binary.LittleEndian, f.Data); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return err
	}
	idList := make([]string, len(ids))
	for i, id := range ids {
		idList[i] = strconv.Itoa(id)
	}
	threads := runtime.GOMAXPROCS(0)
	cmd := exec.Command(python, "-c", peerScript, path, strconv.Itoa(f.N), strconv.Itoa(f.Dim), strconv.Itoa(k),
		strconv.Itoa(threads), strings.Join(idList, ","))
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS="+strconv.Itoa(threads), "OPENBLAS_NUM_THREADS="+strconv.Itoa(threads),
		"OPENBLAS_CORETYPE=SkylakeX")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s: %w", python, err)
	}
	var p struct {
		NumpyMedian float64  `json:"numpy_median_ms"`
		NumpyP99    float64  `json:"numpy_p99_ms"`
		NumpyIDs    [][]int  `json:"numpy_ids"`
		FaissMed    *float64 `json:"faiss_median_ms"`
		FaissP      *float64 `json:"faiss_p99_ms"`
		FaissError  string   `json:"faiss_error"`
	}
	if err := json.Unmarshal(out, &p); err != nil {
		return fmt.Errorf("peer output %q: %w", out, err)
	}
	if len(p.NumpyIDs) != len(got) {
		return errors.New("the peer answered another number of queries")
	}
	// Agreement: the share of the server's neighbours that numpy finds too
	// (float32 ties may order a few differently).
	same, total := 0, 0
	for i := range got {
		for _, id := range got[i] {
			if slices.Contains(p.NumpyIDs[i], id) {
				same++
			}
			total++
		}
	}
	agree := math.Round(float64(same)/float64(max(total, 1))*10000) / 10000
	r3 := func(v float64) *float64 { v = math.Round(v*1000) / 1000; return &v }
	res.NumpyMedianMS, res.NumpyP99MS, res.PeerAgreement = r3(p.NumpyMedian), r3(p.NumpyP99), &agree
	if p.FaissMed != nil {
		res.FaissMedianMS, res.FaissP99MS = r3(*p.FaissMed), r3(*p.FaissP)
	}
	if p.FaissError != "" {
		fmt.Fprintln(os.Stderr, "faiss:", p.FaissError)
	}
	fmt.Fprintf(os.Stderr, "peer: numpy median %.2f ms; faiss median %v ms; %.2f%% of the server's neighbours are numpy's\n",
		p.NumpyMedian, deref(res.FaissMedianMS), 100*agree)
	if agree < 0.99 {
		return fmt.Errorf("the server's neighbours differ from numpy's exact ones: agreement %.4f < 0.99 (%d of %d)", agree, same, total)
	}
	return nil
}

func deref(p *float64) any {
	if p == nil {
		return "n/a"
	}
	return *p
}

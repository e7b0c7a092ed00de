// Command benchkmeans is the Go side of scripts/bench-kmeans.sh: it writes
// the shared random data as .npy, times our Lloyd iterations, measures the
// peak memory of a large run and the NMI of k-means on Fashion-MNIST pixels.
// Each subcommand prints one JSON object.
package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/deepercluster/deepercluster/cluster"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchkmeans gen|time|rss|fmnist [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "time":
		err = timeIters(os.Args[2:])
	case "rss":
		err = rss(os.Args[2:])
	case "fmnist":
		err = fmnist(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchkmeans:", err)
		os.Exit(1)
	}
}

func emit(v any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func randomData(n, d int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// gen writes n x d standard normal float32 values as a .npy file.
func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	n := fs.Int("n", 60000, "rows")
	d := fs.Int("d", 256, "dimension")
	seed := fs.Uint64("seed", 1, "seed")
	out := fs.String("out", "", "output .npy")
	fs.Parse(args)
	x := randomData(*n, *d, *seed)
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", *n, *d)
	pad := 64 - (10+len(header)+1)%64
	header += strings.Repeat(" ", pad) + "\n"
	w.WriteString("\x93NUMPY\x01\x00")
	binary.Write(w, binary.LittleEndian, uint16(len(header)))
	w.WriteString(header)
	binary.Write(w, binary.LittleEndian, x)
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// readNpy reads a 2-d little-endian float32 .npy written by gen.
func readNpy(path string) ([]float32, int, int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	if len(data) < 10 || string(data[:6]) != "\x93NUMPY" {
		return nil, 0, 0, fmt.Errorf("%s: not a .npy file", path)
	}
	hl := int(binary.LittleEndian.Uint16(data[8:10]))
	header := string(data[10 : 10+hl])
	i := strings.Index(header, "'shape': (")
	if i < 0 || !strings.Contains(header, "'<f4'") {
		return nil, 0, 0, fmt.Errorf("%s: want a float32 2-d array, header %q", path, header)
	}
	dims := strings.Split(header[i+10:strings.Index(header[i:], ")")+i], ",")
	n, err1 := strconv.Atoi(strings.TrimSpace(dims[0]))
	d, err2 := strconv.Atoi(strings.TrimSpace(dims[1]))
	if err1 != nil || err2 != nil {
		return nil, 0, 0, fmt.Errorf("%s: bad shape in header %q", path, header)
	}
	body := data[10+hl:]
	x := make([]float32, n*d)
	for j := range x {
		x[j] = math.Float32frombits(binary.LittleEndian.Uint32(body[4*j:]))
	}
	return x, n, d, nil
}

// timeIters runs k-means for iters iterations and reports the mean time of
// the iterations after the first (each is M-step + assignment), measured
// between OnIter calls, so setup and initialisation are not counted.
func timeIters(args []string) error {
	fs := flag.NewFlagSet("time", flag.ExitOnError)
	in := fs.String("in", "", "input .npy")
	k := fs.Int("k", 1000, "clusters")
	iters := fs.Int("iters", 6, "iterations")
	fs.Parse(args)
	x, n, d, err := readNpy(*in)
	if err != nil {
		return err
	}
	var stamps []time.Time
	_, err = cluster.KMeans(context.Background(), x, n, d, cluster.KMeansOptions{K: *k, Iters: *iters, Seed: 1,
		OnIter: func(int, float64) { stamps = append(stamps, time.Now()) }})
	if err != nil {
		return err
	}
	per := stamps[len(stamps)-1].Sub(stamps[0]).Seconds() / float64(len(stamps)-1)
	emit(map[string]any{"n": n, "d": d, "k": *k, "s_per_iter": per, "gflops": 2 * float64(n) * float64(*k) * float64(d) / per / 1e9, "kernel": cluster.KernelName()})
	return nil
}

// rss runs a large k-means and reports the peak resident memory next to the
// size of the features.
func rss(args []string) error {
	fs := flag.NewFlagSet("rss", flag.ExitOnError)
	n := fs.Int("n", 1_000_000, "rows")
	d := fs.Int("d", 256, "dimension")
	k := fs.Int("k", 10_000, "clusters")
	iters := fs.Int("iters", 1, "iterations")
	fs.Parse(args)
	x := randomData(*n, *d, 3)
	start := time.Now()
	res, err := cluster.KMeans(context.Background(), x, *n, *d, cluster.KMeansOptions{K: *k, Iters: *iters, Seed: 1})
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return err
	}
	peak := float64(ru.Maxrss) / 1024 // KiB on Linux
	feat := float64(len(x)) * 4 / (1 << 20)
	emit(map[string]any{"n": *n, "d": *d, "k": *k, "iters": res.Iters, "seconds": secs, "peak_rss_mb": peak, "features_mb": feat, "beyond_features_mb": peak - feat})
	return nil
}

// readIDX reads a gzipped IDX file: big-endian magic (0x0000 type dims),
// dimensions, then unsigned bytes.
func readIDX(path string) ([]byte, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var magic uint32
	if err := binary.Read(zr, binary.BigEndian, &magic); err != nil {
		return nil, nil, fmt.Errorf("%s: header: %w", path, err)
	}
	if magic>>8 != 0x08 || magic&0xff == 0 || magic&0xff > 4 {
		return nil, nil, fmt.Errorf("%s: magic %#x is not an unsigned-byte IDX file", path, magic)
	}
	dims := make([]int, magic&0xff)
	total := 1
	for i := range dims {
		var v uint32
		if err := binary.Read(zr, binary.BigEndian, &v); err != nil {
			return nil, nil, fmt.Errorf("%s: dimension %d: %w", path, i, err)
		}
		dims[i] = int(v)
		total *= int(v)
	}
	data := make([]byte, total)
	if _, err := io.ReadFull(zr, data); err != nil {
		return nil, nil, fmt.Errorf("%s: data: %w", path, err)
	}
	return data, dims, nil
}

// fmnist clusters the Fashion-MNIST training pixels with k = 10 and reports
// the NMI with the labels, averaged over seeds.
func fmnist(args []string) error {
	fs := flag.NewFlagSet("fmnist", flag.ExitOnError)
	dir := fs.String("dir", "/usr/share/datasets/fashion-mnist", "dataset folder")
	seeds := fs.Int("seeds", 3, "k-means runs to average")
	fs.Parse(args)
	img, dims, err := readIDX(filepath.Join(*dir, "train-images-idx3-ubyte.gz"))
	if err != nil {
		return err
	}
	lab, ldims, err := readIDX(filepath.Join(*dir, "train-labels-idx1-ubyte.gz"))
	if err != nil {
		return err
	}
	if len(dims) != 3 || len(ldims) != 1 || dims[0] != ldims[0] {
		return fmt.Errorf("image dims %v and label dims %v do not match", dims, ldims)
	}
	n, d := dims[0], dims[1]*dims[2]
	x := make([]float32, n*d)
	for i, v := range img {
		x[i] = float32(v) / 255
	}
	labels := make([]int32, n)
	for i, v := range lab {
		labels[i] = int32(v)
	}
	var sum float64
	var each []float64
	for s := 0; s < *seeds; s++ {
		res, err := cluster.KMeans(context.Background(), x, n, d, cluster.KMeansOptions{K: 10, Iters: 100, Tol: 1e-6, Init: cluster.InitPlusPlus, Seed: uint64(s + 1)})
		if err != nil {
			return err
		}
		v := cluster.NMI(res.Assign, labels)
		each = append(each, v)
		sum += v
	}
	emit(map[string]any{"n": n, "d": d, "nmi": sum / float64(*seeds), "nmi_each": each})
	return nil
}

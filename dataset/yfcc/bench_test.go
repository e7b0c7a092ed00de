package yfcc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster/dataset/folder"
	"github.com/deepercluster/deepercluster/dataset/synthetic"
)

var benchWords = []string{
	"beach", "sunset", "new york", "london", "paris", "wedding", "party", "travel", "nature", "canon",
	"nikon", "2005", "2006", "2007", "family", "dog", "cat", "flower", "sky", "clouds", "köln", "東京",
	"c++", "street", "night", "city", "water", "tree", "snow", "mountain", "lake", "bird", "car", "music",
}

// genYFCCLine writes one realistic metadata line: URL-encoded tags, title
// and description, a date (sometimes junk), geo on some lines, and the
// 25-column layout on every fourth line.
func genYFCCLine(b []byte, r *rand.Rand, i int) []byte {
	id := 1000000 + i*7
	nsid := fmt.Sprintf("%d@N%02d", 10000000+r.IntN(90000000), r.IntN(8))
	dl := fmt.Sprintf("http://farm%d.staticflickr.com/%d/%d_%x.jpg", 1+r.IntN(9), 1000+r.IntN(9000), id, r.Uint32())
	if i%4 == 3 {
		sum := md5.Sum([]byte(dl))
		b = fmt.Appendf(b, "%d\t%d\t%s\t", i, id, hex.EncodeToString(sum[:]))
	} else {
		b = fmt.Appendf(b, "%d\t", id)
	}
	b = append(b, nsid...)
	b = append(b, "\tsome+user\t"...)
	if i%50 == 0 {
		b = append(b, "4501-01-01 00:00:00.0"...)
	} else {
		b = fmt.Appendf(b, "20%02d-%02d-%02d %02d:%02d:%02d.0", 4+r.IntN(10), 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60))
	}
	b = fmt.Appendf(b, "\t%d\tCanon+EOS+400D+Digital\t", 1100000000+r.IntN(300000000))
	b = append(b, url.QueryEscape(benchWords[r.IntN(len(benchWords))]+" at the "+benchWords[r.IntN(len(benchWords))])...)
	b = append(b, '\t')
	if r.IntN(3) == 0 {
		b = append(b, url.QueryEscape("A long day out with friends, and the "+benchWords[r.IntN(len(benchWords))]+" was great.")...)
	}
	b = append(b, '\t')
	nt := r.IntN(8)
	for k := range nt {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, url.QueryEscape(benchWords[r.IntN(len(benchWords))])...)
	}
	b = append(b, '\t')
	if r.IntN(5) == 0 {
		b = append(b, "geo%3Alat%3D48.85,camera%3Amake%3Dcanon"...)
	}
	b = append(b, '\t')
	if r.IntN(3) == 0 {
		b = fmt.Appendf(b, "%.6f\t%.6f\t%d", r.Float64()*360-180, r.Float64()*180-90, 1+r.IntN(16))
	} else {
		b = append(b, "\t\t"...)
	}
	b = fmt.Appendf(b, "\thttp://www.flickr.com/photos/%s/%d/\t%s\tAttribution License\thttp://creativecommons.org/licenses/by/2.0/\t%d\t%d\t%x\t%x\tjpg\t0\n",
		nsid, id, dl, 1000+r.IntN(9000), 1+r.IntN(9), r.Uint32(), r.Uint32())
	return b
}

// writeYFCC writes n generated lines to path.
func writeYFCC(tb testing.TB, path string, n int) int64 {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	var line []byte
	var size int64
	for i := range n {
		line = genYFCCLine(line[:0], r, i)
		size += int64(len(line))
		w.Write(line)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return size
}

// countRecords reads r to the end and counts its records.
func countRecords(t *testing.T, r *Reader) int {
	t.Helper()
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
}

func TestGeneratedLinesParse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gen.tsv")
	writeYFCC(t, path, 2000)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewReader(f, path)
	n := countRecords(t, r)
	if n != 2000 || r.BadLines().Count != 0 {
		t.Fatalf("%d records, bad %v", n, r.BadLines().First)
	}
}

func BenchmarkParseYFCCLine(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	lines := make([][]byte, 1024)
	var size int
	for i := range lines {
		lines[i] = genYFCCLine(nil, r, i)
		lines[i] = lines[i][:len(lines[i])-1]
		size += len(lines[i])
	}
	b.SetBytes(int64(size / len(lines)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := ParseLine(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
	}
}

// photoLike is a 500 x 375 picture with smooth gradients, edges and noise,
// so that its JPEG costs about what a real photo costs to decode.
func photoLike(r *rand.Rand) image.Image {
	const w, h = 500, 375
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	cx, cy := r.IntN(w), r.IntN(h)
	base := color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}
	for y := range h {
		for x := range w {
			n := uint8(r.IntN(24))
			v := uint8((x*255/w + y*128/h) / 2)
			c := color.RGBA{base.R/2 + v/2 + n, base.G/2 + uint8(y*100/h) + n, base.B/2 + n, 255}
			if (x-cx)*(x-cx)+(y-cy)*(y-cy) < 80*80 {
				c.R, c.G = 240-n, 200-n
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

// TestBenchIngest is the measurement behind `make bench-ingest`, at full
// size with DEEPERCLUSTER_BENCH_INGEST=1. Without it (go test, CI) it runs
// the same code on a few thousand lines and a hundred images, so that the
// benchmark's checks run in every test run and it cannot rot. It prints, as its last line, the
// JSON object {"lines_per_s", "lines_reader", "images_per_s",
// "sequential_reader_lines_per_s", "folder_images_per_s", "load_avg_1m"}:
// lines_per_s is the reader ingest uses (lines_reader names it).
func TestBenchIngest(t *testing.T) {
	full := os.Getenv("DEEPERCLUSTER_BENCH_INGEST") == "1"
	lines, nimg, nfolder := 1_000_000, 400, 2000
	if !full {
		lines, nimg, nfolder = 5000, 40, 40
	}
	if s := os.Getenv("DEEPERCLUSTER_BENCH_LINES"); s != "" {
		fmt.Sscan(s, &lines)
	}
	dir := t.TempDir()

	// Metadata: generate, then read it back through the streaming reader
	// (the file is in the page cache, so this measures parsing).
	meta := filepath.Join(dir, "yfcc.tsv")
	size := writeYFCC(t, meta, lines)
	// Sequential reader first (also warms the page cache), then the
	// parallel one that ingest uses.
	f, err := os.Open(meta)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := NewReader(f, meta)
	n := countRecords(t, r)
	seqTime := time.Since(start)
	f.Close()
	if n != lines {
		t.Fatalf("read %d records of %d (bad: %v)", n, lines, r.BadLines().First)
	}
	if f, err = os.Open(meta); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	var peak uint64
	start = time.Now()
	cpu0 := processCPU()
	n = 0
	st, err := Read(context.Background(), f, meta, IngestParseWorkers, func(Record) error {
		n++
		if n%100000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
		return nil
	})
	lineTime := time.Since(start)
	lineCPU := processCPU() - cpu0
	f.Close()
	if err != nil || n != lines || st.Bad.Count != 0 {
		t.Fatalf("parallel read: %d records of %d, err %v, bad %v", n, lines, err, st.Bad.First)
	}
	seqPerS, parPerS := float64(lines)/seqTime.Seconds(), float64(lines)/lineTime.Seconds()
	which := fmt.Sprintf("Read(workers=%d)", IngestParseWorkers)
	fmt.Printf("metadata: %d lines (%.0f MB): Reader (one goroutine) %.0f lines/s; %s, the reader ingest uses, %.0f lines/s, %.0f MB/s, peak heap in use %.1f MB, CPU time %.2f us/line\n",
		lines, float64(size)/1e6, seqPerS, which, parPerS, float64(size)/1e6/lineTime.Seconds(), float64(peak)/1e6,
		float64(lineCPU.Microseconds())/float64(lines))
	// lines_per_s is the reader that ingest actually runs, whichever is
	// faster on this machine today.
	linesPerS := parPerS
	fmt.Printf("lines_per_s below is %s's (the one ingest uses)\n", which)

	// Images: 500 px JPEGs through the whole ingest (find, decode,
	// crop, resize on every core, write the dataset).
	images := filepath.Join(dir, "images")
	os.Mkdir(images, 0o755)
	rg := rand.New(rand.NewPCG(3, 4))
	var mb strings.Builder
	var jpegBytes int
	for i := range nimg {
		id := fmt.Sprint(5000 + i)
		// A few distinct pictures, written under many names.
		if i < 40 {
			fj, err := os.Create(filepath.Join(images, id+".jpg"))
			if err != nil {
				t.Fatal(err)
			}
			if err := jpeg.Encode(fj, photoLike(rg), &jpeg.Options{Quality: 85}); err != nil {
				t.Fatal(err)
			}
			st, _ := fj.Stat()
			jpegBytes += int(st.Size())
			fj.Close()
		} else {
			data, _ := os.ReadFile(filepath.Join(images, fmt.Sprint(5000+i%40)+".jpg"))
			os.WriteFile(filepath.Join(images, id+".jpg"), data, 0o644)
		}
		mb.WriteString(line23(func(f []string) { f[0] = id }) + "\n")
	}
	imeta := filepath.Join(dir, "images.tsv")
	os.WriteFile(imeta, []byte(mb.String()), 0o644)
	start = time.Now()
	cpu0 = processCPU()
	m, err := Ingest(context.Background(), IngestConfig{YFCC: imeta, Images: images, Size: 32, Out: filepath.Join(dir, "ds")})
	if err != nil {
		t.Fatal(err)
	}
	imgTime := time.Since(start)
	imgCPU := processCPU() - cpu0
	if m.Images != nimg {
		t.Fatalf("ingested %d images of %d: %v", m.Images, nimg, m.Problems)
	}
	imagesPerS := float64(nimg) / imgTime.Seconds()
	fmt.Printf("images: %d JPEGs of 500x375 (%.0f KB each) to 32x32 in %v on %d CPUs: %.0f images/s; CPU time %.2f ms/image\n",
		nimg, float64(jpegBytes)/40/1e3, imgTime.Round(time.Millisecond), runtime.GOMAXPROCS(0), imagesPerS, float64(imgCPU.Microseconds())/1e3/float64(nimg))
	fmt.Printf("targets: lines/s >= 500000 (%.2fx), images/s >= 300 (%.2fx)\n", linesPerS/500000, imagesPerS/300)

	// A folder of photos: 640x480 JPEGs in nested folders through the
	// whole folder ingest (walk, read, decode, crop and resize to 32 px,
	// display copy at 256 px, keywords, write), at two sizes, so that the
	// peak memory of the two can be compared: it must not grow with the
	// number of images beyond a few bytes of index each.
	if s := os.Getenv("DEEPERCLUSTER_BENCH_FOLDER_IMAGES"); s != "" {
		fmt.Sscan(s, &nfolder)
	}
	var folderPerS float64
	for _, n := range []int{nfolder / 4, nfolder} {
		perS, peakHeap, peakRSS, cpu := benchFolder(t, filepath.Join(dir, fmt.Sprintf("folder%d", n)), n)
		fmt.Printf("folder: %d JPEGs of 640x480 in %d folders to 32x32 + 256 px display copies on %d CPUs: %.0f images/s; CPU time %.2f ms/image; peak Go heap %.0f MB, peak RSS %.0f MB\n",
			n, n/100+1, runtime.GOMAXPROCS(0), perS, float64(cpu.Microseconds())/1e3/float64(n), float64(peakHeap)/1e6, float64(peakRSS)/1e6)
		folderPerS = perS
	}
	var load float64
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscan(string(b), &load)
	}
	out, _ := json.Marshal(struct {
		LinesPerS        int     `json:"lines_per_s"`
		LinesReader      string  `json:"lines_reader"`
		ImagesPerS       int     `json:"images_per_s"`
		SeqPerS          int     `json:"sequential_reader_lines_per_s"`
		FolderImagesPerS int     `json:"folder_images_per_s"`
		LoadAvg          float64 `json:"load_avg_1m"`
	}{int(linesPerS), which, int(imagesPerS), int(seqPerS), int(folderPerS), load})
	fmt.Println(string(out))
}

// benchFolder writes n 640x480 JPEGs (40 distinct scenes under many
// names, 100 per folder), ingests the folder and returns images/s, the
// peak Go heap and resident set sampled during the ingest, and its CPU time.
func benchFolder(t *testing.T, dir string, n int) (float64, uint64, uint64, time.Duration) {
	t.Helper()
	images := filepath.Join(dir, "photos")
	scenes := filepath.Join(dir, "scenes")
	os.MkdirAll(scenes, 0o755)
	for i := range 40 {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, synthetic.ScenePhoto(i, uint64(i), 640, 480), &jpeg.Options{Quality: 85}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(scenes, fmt.Sprint(i)), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Hard links: 100,000 photos cost no disk, and every one is still a
	// file to open, read and decode.
	for i := range n {
		p := filepath.Join(images, fmt.Sprintf("set%03d", i/100), fmt.Sprintf("img%06d.jpg", i))
		if i%100 == 0 {
			os.MkdirAll(filepath.Dir(p), 0o755)
		}
		if err := os.Link(filepath.Join(scenes, fmt.Sprint(i%40)), p); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	var peakHeap, peakRSS uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peakHeap = max(peakHeap, ms.HeapInuse)
			peakRSS = max(peakRSS, residentBytes())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	start := time.Now()
	cpu0 := processCPU()
	m, err := folder.Ingest(context.Background(), folder.Config{Images: images, Out: filepath.Join(dir, "ds"), Size: 32})
	took := time.Since(start)
	cpu := processCPU() - cpu0
	close(stop)
	<-sampled
	if err != nil {
		t.Fatal(err)
	}
	if m.Images != n {
		t.Fatalf("folder: ingested %d images of %d: %v", m.Images, n, m.Problems)
	}
	os.RemoveAll(dir)
	return float64(n) / took.Seconds(), peakHeap, peakRSS, cpu
}

// residentBytes is this process's resident set size (0 where /proc is
// missing).
func residentBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, rss uint64
	fmt.Sscan(string(b), &size, &rss)
	return rss * uint64(os.Getpagesize())
}

// processCPU is the CPU time this process has used, so that the benchmark
// can say how much of a slow wall-clock figure is other work on the machine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// genReader produces n generated metadata lines on the fly, so that a test
// can stream far more than it would want to hold.
type genReader struct {
	r    *rand.Rand
	i, n int
	buf  []byte
}

func (g *genReader) Read(p []byte) (int, error) {
	for len(g.buf) == 0 {
		if g.i == g.n {
			return 0, io.EOF
		}
		g.buf = genYFCCLine(g.buf[:0], g.r, g.i)
		g.i++
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	return n, nil
}

// TestReadersStreamInBoundedMemory streams about 57 MB of metadata (and
// over 100 MB of parsed records) through both readers and checks that the
// heap never holds more than a fraction of it.
func TestReadersStreamInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 57 MB")
	}
	const n = 150_000
	const limit = 40 << 20
	// HeapAlloc counts garbage not yet collected, so with the default GC
	// pacing its peak moved with the machine's load (40.6 MB once on a busy
	// CI run). A tighter pacing keeps garbage small; a reader that held the
	// 57 MB it streams would still be far over the limit.
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	var ms runtime.MemStats
	var peak uint64
	sample := func(k int) {
		if k%5000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	runtime.GC()
	y := NewReader(&genReader{r: rand.New(rand.NewPCG(5, 6)), n: n}, "gen")
	k := 0
	for {
		if _, err := y.Next(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		k++
		sample(k)
	}
	if k != n || peak > limit {
		t.Errorf("Reader: %d records, peak heap %d MB (limit %d)", k, peak>>20, limit>>20)
	}
	runtime.GC()
	peak, k = 0, 0
	_, err := Read(context.Background(), &genReader{r: rand.New(rand.NewPCG(5, 6)), n: n}, "gen", 2, func(Record) error {
		k++
		sample(k)
		return nil
	})
	if err != nil || k != n || peak > limit {
		t.Errorf("Read: %d records, err %v, peak heap %d MB (limit %d)", k, err, peak>>20, limit>>20)
	}
	t.Logf("Read peak heap %.1f MB", float64(peak)/(1<<20))
}

//go:build unix

package crashtest

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deepercluster/deepercluster/dataset"
)

// yfccLine is a 23-column YFCC100M metadata line of photo id with tags.
func yfccLine(id int, tags string) string {
	f := []string{fmt.Sprint(id), "30302697@N00", "pirate+jen", "2005-06-12 14:52:41.0", "1118596361",
		"Canon+PowerShot+S410", "title", "description", tags, "", "-77.036133", "38.898556", "16",
		"http://www.flickr.com/photos/30302697@N00/7088065/", "http://farm1.staticflickr.com/6/7088065_3c2cfb0a3b.jpg",
		"Attribution-NonCommercial-ShareAlike License", "http://creativecommons.org/licenses/by-nc-sa/2.0/",
		"6", "1", "3c2cfb0a3b", "3c2cfb0a3b", "jpg", "0"}
	return strings.Join(f, "\t")
}

// TestIngestSurvivesSIGKILL kills `ingest` in the middle, once images are
// being written into the dataset under construction: the output does not
// load as a dataset (at most a temporary directory that OpenDir refuses is
// left), and the same ingest run again completes.
func TestIngestSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	const n = 3000
	src := t.TempDir()
	images := filepath.Join(src, "images")
	os.MkdirAll(images, 0o755)
	m := image.NewRGBA(image.Rect(0, 0, 48, 48))
	for i := range m.Pix {
		m.Pix[i] = uint8(i * 7)
	}
	m.Set(0, 0, color.RGBA{1, 2, 3, 255})
	var buf bytes.Buffer
	png.Encode(&buf, m)
	var lines []string
	for i := 1; i <= n; i++ {
		os.WriteFile(filepath.Join(images, fmt.Sprintf("%d.png", i)), buf.Bytes(), 0o644)
		lines = append(lines, yfccLine(i, "beach,sun"))
	}
	meta := filepath.Join(src, "yfcc.tsv")
	os.WriteFile(meta, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	parent := t.TempDir()
	out := filepath.Join(parent, "ds")
	args := []string{"ingest", "--yfcc", meta, "--images", images, "--size", "16", "--out", out, "--workers", "1"}

	var tmp string
	for try := 1; ; try++ {
		p := startProc(t, args...)
		// Wait until the dataset under construction holds images.
		tmp = ""
		for deadline := time.Now().Add(time.Minute); tmp == "" && time.Now().Before(deadline) && !p.exited(); time.Sleep(time.Millisecond) {
			entries, _ := os.ReadDir(parent)
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp-") {
					if fi, err := os.Stat(filepath.Join(parent, e.Name(), dataset.ImagesFile)); err == nil && fi.Size() > 0 {
						tmp = filepath.Join(parent, e.Name())
					}
				}
			}
		}
		if p.exited() {
			t.Fatalf("ingest ended before the kill:\n%s", tail(p.output()))
		}
		p.kill()
		if _, err := os.Stat(out); err == nil {
			if try == maxTries {
				t.Fatalf("%d kills, all after the ingest completed", try)
			}
			os.RemoveAll(out)
			continue
		}
		if tmp == "" {
			t.Fatalf("no dataset under construction seen:\n%s", tail(p.output()))
		}
		break
	}
	if _, err := dataset.OpenDir(out); err == nil {
		t.Fatal("a killed ingest left a dataset that loads")
	}
	if d, err := dataset.OpenDir(tmp); err == nil {
		d.Close()
		t.Fatalf("the killed ingest's temporary directory %s loads as a dataset", tmp)
	}
	p := startProc(t, args...)
	if err := p.wait(2 * time.Minute); err != nil {
		t.Fatalf("ingest after a kill: %v\n%s", err, tail(p.output()))
	}
	d, err := dataset.OpenDir(out)
	if err != nil {
		t.Fatalf("ingest after a kill: %v", err)
	}
	defer d.Close()
	if d.Len() != n {
		t.Fatalf("ingest after a kill holds %d images, want %d", d.Len(), n)
	}
}

package server

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	_ "image/png" // thumbnails of datasets without display copies
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/draw"

	"github.com/deepercluster/deepercluster/dataset"
	"github.com/deepercluster/deepercluster/dataset/folder"
	"github.com/deepercluster/deepercluster/dataset/synthetic"
	"github.com/deepercluster/deepercluster/wire"
)

// getImage fetches a thumbnail and decodes it.
func getImage(t *testing.T, url, ctype string) image.Image {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ctype {
		t.Fatalf("%s: %d %q %s", url, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	img, _, err := image.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return img
}

// getRaw fetches url's status and body.
func getRaw(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// meanGreyDiff is the mean absolute difference of two images' grey levels
// (BT.601 luma, 0-255), which must have the same size.
func meanGreyDiff(t *testing.T, a, b image.Image) float64 {
	t.Helper()
	if a.Bounds().Size() != b.Bounds().Size() {
		t.Fatalf("sizes %v and %v", a.Bounds().Size(), b.Bounds().Size())
	}
	grey := func(m image.Image, x, y int) float64 {
		r, g, b, _ := m.At(m.Bounds().Min.X+x, m.Bounds().Min.Y+y).RGBA()
		return (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b)) / 257
	}
	sz := a.Bounds().Size()
	sum := 0.0
	for y := range sz.Y {
		for x := range sz.X {
			d := grey(a, x, y) - grey(b, x, y)
			if d < 0 {
				d = -d
			}
			sum += d
		}
	}
	return sum / float64(sz.X*sz.Y)
}

// TestThumbnailAtRequestedSize ingests real 640x480 JPEGs (display copies
// of 256 px) and checks that a thumbnail asked at 128 px is 128 px on its
// longest side and looks like a direct resize of the source.
func TestThumbnailAtRequestedSize(t *testing.T) {
	root := t.TempDir()
	photos := filepath.Join(root, "photos")
	if err := os.MkdirAll(photos, 0o755); err != nil {
		t.Fatal(err)
	}
	var sources []image.Image
	for i := range 3 {
		var b bytes.Buffer
		if err := jpeg.Encode(&b, synthetic.ScenePhoto(i, 7, 640, 480), &jpeg.Options{Quality: 95}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(photos, string(rune('a'+i))+".jpg"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := jpeg.Decode(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, src)
	}
	out := filepath.Join(root, "ds")
	if _, err := folder.Ingest(context.Background(), folder.Config{Images: photos, Out: out, Size: 32}); err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.OpenDir(out)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	ts := startServer(t, Config{}, ds, nil)
	u := ts.ts.URL
	for i, src := range sources {
		got := getImage(t, u+"/api/images/"+string(rune('0'+i))+"/thumb?px=128", "image/jpeg")
		if sz := got.Bounds().Size(); sz.X != 128 || sz.Y != 96 {
			t.Fatalf("image %d at px=128: %v, want 128x96", i, sz)
		}
		direct := image.NewRGBA(image.Rect(0, 0, 128, 96))
		draw.BiLinear.Scale(direct, direct.Bounds(), src, src.Bounds(), draw.Src, nil)
		if d := meanGreyDiff(t, got, direct); d > 3 {
			t.Errorf("image %d at 128 px: mean grey difference to a direct resize %.2f > 3", i, d)
		} else {
			t.Logf("image %d at 128 px: mean grey difference to a direct resize %.2f", i, d)
		}
		// Another scene is far from it: the measure can fail.
		other := image.NewRGBA(image.Rect(0, 0, 128, 96))
		o := sources[(i+1)%len(sources)]
		draw.BiLinear.Scale(other, other.Bounds(), o, o.Bounds(), draw.Src, nil)
		if d := meanGreyDiff(t, got, other); d <= 3 {
			t.Errorf("image %d is as close to another scene (%.2f)", i, d)
		}
	}
	// A batch for photo walls: the centre square of each display copy at
	// the side asked, up to the display copies' 256 px, not the 32 px
	// the model trains at.
	for _, tc := range []struct{ ask, want int }{{128, 128}, {1000, 256}} {
		status, body := getRaw(t, fmt.Sprintf("%s/api/thumbs?ids=0,1,2&px=%d", u, tc.ask))
		if status != 200 {
			t.Fatalf("thumbs px=%d: status %d", tc.ask, status)
		}
		b, err := wire.DecodeThumbBatch(body)
		if err != nil {
			t.Fatal(err)
		}
		if b.Px != tc.want || len(b.IDs) != 3 {
			t.Fatalf("thumbs px=%d: %d thumbnails of %d px, want 3 of %d", tc.ask, len(b.IDs), b.Px, tc.want)
		}
		for i, src := range sources {
			got := image.NewRGBA(image.Rect(0, 0, b.Px, b.Px))
			for p := range b.Px * b.Px {
				copy(got.Pix[4*p:4*p+3], b.Thumb(i)[3*p:3*p+3])
				got.Pix[4*p+3] = 255
			}
			sb := src.Bounds()
			side := min(sb.Dx(), sb.Dy())
			sq := image.Rect((sb.Dx()-side)/2, (sb.Dy()-side)/2, (sb.Dx()+side)/2, (sb.Dy()+side)/2)
			direct := image.NewRGBA(got.Bounds())
			draw.BiLinear.Scale(direct, direct.Bounds(), src, sq, draw.Src, nil)
			if d := meanGreyDiff(t, got, direct); d > 3 {
				t.Errorf("batch px=%d image %d: mean grey difference to the centre square resized %.2f > 3", tc.ask, i, d)
			}
		}
	}
	// Without px: the display copy as stored (256 px); larger px: the same.
	for _, q := range []string{"", "?px=1024"} {
		if sz := getImage(t, u+"/api/images/0/thumb"+q, "image/jpeg").Bounds().Size(); sz.X != 256 || sz.Y != 192 {
			t.Errorf("thumb%s: %v, want 256x192", q, sz)
		}
	}
	for _, q := range []string{"?px=0", "?px=7", "?px=1025", "?px=big"} {
		status, body, _ := do(t, "GET", u+"/api/images/0/thumb"+q, "", nil)
		if status != 400 || body["field"] != "px" {
			t.Errorf("thumb%s: %d %v, want 400 naming px", q, status, body)
		}
	}
}

// TestThumbnailWithoutDisplayCopies: a dataset without display copies
// serves its model-resolution PNG, shrunk for a smaller px, never enlarged.
func TestThumbnailWithoutDisplayCopies(t *testing.T) {
	ds := testDataset(t, 10) // 16 px
	ts := startServer(t, Config{}, ds, nil)
	for q, side := range map[string]int{"": 16, "?px=8": 8, "?px=128": 16} {
		img := getImage(t, ts.ts.URL+"/api/images/3/thumb"+q, "image/png")
		if sz := img.Bounds().Size(); sz.X != side || sz.Y != side {
			t.Errorf("thumb%s: %v, want %dx%d", q, sz, side, side)
		}
	}
}

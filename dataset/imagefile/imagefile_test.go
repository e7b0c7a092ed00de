package imagefile

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/deepercluster/deepercluster/dataset/internal/testimage"
)

func TestThumbnail(t *testing.T) {
	src := testimage.Stripes(80, 40)
	nrgba := image.NewNRGBA(src.Bounds())
	draw.Draw(nrgba, src.Bounds(), src, image.Point{}, draw.Src)
	pal := image.NewPaletted(src.Bounds(), testimage.Palette)
	draw.Draw(pal, src.Bounds(), src, image.Point{}, draw.Src)
	cmyk := image.NewCMYK(src.Bounds())
	draw.Draw(cmyk, src.Bounds(), src, image.Point{}, draw.Src)
	jpg, err := jpeg.Decode(bytes.NewReader(testimage.Encode(t, src, "jpg")))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := jpg.(*image.YCbCr); !ok {
		t.Fatalf("jpeg decoded to %T, want *image.YCbCr", jpg)
	}
	// An image whose bounds do not start at the origin.
	sub := src.SubImage(image.Rect(20, 0, 60, 20))
	for _, tc := range []struct {
		name string
		img  image.Image
		tol  int
	}{
		{"RGBA", src, 0},
		{"NRGBA", nrgba, 0},
		{"Paletted", pal, 0},
		{"YCbCr (JPEG)", jpg, 12},
		{"CMYK (generic path)", cmyk, 3},
		{"sub-image", sub, 0},
		{"YCbCr sub-image at odd offsets", jpg.(*image.YCbCr).SubImage(image.Rect(21, 1, 59, 39)), 12},
	} {
		for _, res := range []int{4, 8, 20, 32} {
			dst := make([]byte, res*res*3)
			if err := Thumbnail(tc.img, res, dst); err != nil {
				t.Fatal(err)
			}
			t.Run(tc.name, func(t *testing.T) {
				// With area averaging, only the two columns where the
				// halves meet may mix at odd sizes; res is even here.
				testimage.CheckHalves(t, dst, res, tc.tol)
			})
		}
	}
}

func TestThumbnailGray(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 30, 60)) // tall: rows 15..45 kept
	for y := range 60 {
		for x := range 30 {
			v := uint8(0)
			if y >= 15 && y < 30 {
				v = 200
			} else if y >= 30 && y < 45 {
				v = 100
			}
			g.SetGray(x, y, color.Gray{v})
		}
	}
	dst := make([]byte, 6*6*3)
	if err := Thumbnail(g, 6, dst); err != nil {
		t.Fatal(err)
	}
	for y := range 6 {
		want := byte(200)
		if y >= 3 {
			want = 100
		}
		for x := range 6 {
			o := (y*6 + x) * 3
			if dst[o] != want || dst[o+1] != want || dst[o+2] != want {
				t.Fatalf("pixel (%d,%d) = %v, want grey %d", x, y, dst[o:o+3], want)
			}
		}
	}
}

func TestThumbnailUpscaleAndErrors(t *testing.T) {
	m := image.NewRGBA(image.Rect(0, 0, 2, 2))
	m.SetRGBA(0, 0, testimage.Red)
	m.SetRGBA(1, 0, testimage.Blue)
	m.SetRGBA(0, 1, testimage.Red)
	m.SetRGBA(1, 1, testimage.Blue)
	dst := make([]byte, 8*8*3)
	if err := Thumbnail(m, 8, dst); err != nil {
		t.Fatal(err)
	}
	testimage.CheckHalves(t, dst, 8, 0)
	if err := Thumbnail(m, 8, make([]byte, 10)); err == nil {
		t.Error("short destination accepted")
	}
	if err := Thumbnail(image.NewRGBA(image.Rect(0, 0, 0, 5)), 8, dst); err == nil {
		t.Error("empty image accepted")
	}
	if err := Thumbnail(m, 0, dst); err == nil {
		t.Error("resolution 0 accepted")
	}
}

// opaque hides an image's concrete type, so Thumbnail takes its generic
// path (colour conversion of every pixel through At).
type opaque struct{ image.Image }

// TestWebPAndFastPaths loads WebP files (from golang.org/x/image's test
// data) with Load and checks the fast YCbCr/NRGBA paths
// against the generic per-pixel path on the same decoded image.
func TestWebPAndFastPaths(t *testing.T) {
	root := t.TempDir()
	for i, name := range []string{"yfcc-lossy.webp", "yfcc-lossless.webp"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		id := string(rune('1'+i)) + "00"
		path := filepath.Join(root, id+".webp")
		testimage.WriteFile(t, path, data)
		const res = 16
		got := make([]byte, res*res*3)
		if err := Load(path, res, got); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		img, _, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		want := make([]byte, res*res*3)
		if err := Thumbnail(opaque{img}, res, want); err != nil {
			t.Fatal(err)
		}
		var sum, worst int
		for k := range got {
			d := int(got[k]) - int(want[k])
			if d < 0 {
				d = -d
			}
			sum += d
			worst = max(worst, d)
		}
		if mean := float64(sum) / float64(len(got)); mean > 1.5 || worst > 12 {
			t.Errorf("%s (%T): fast path differs from generic: mean %.2f worst %d", name, img, mean, worst)
		}
		if bytes.Equal(got, make([]byte, len(got))) {
			t.Errorf("%s: all black", name)
		}
	}
}

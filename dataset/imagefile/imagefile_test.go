package imagefile

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

var (
	red   = color.RGBA{220, 30, 30, 255}
	blue  = color.RGBA{30, 30, 220, 255}
	green = color.RGBA{30, 200, 30, 255}
)

// threeColours is the palette of paletted test images (GIF).
var threeColours = color.Palette{red, blue, green}

// stripes is a w x h picture whose outer quarters are green and whose
// middle half is red on the left, blue on the right: after a center crop
// of a 2:1 picture only red and blue remain.
func stripes(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := green
			switch {
			case x >= w/4 && x < w/2:
				c = red
			case x >= w/2 && x < 3*w/4:
				c = blue
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

// encodeImage writes m in the named format.
func encodeImage(t testing.TB, m image.Image, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "jpg":
		err = jpeg.Encode(&b, m, &jpeg.Options{Quality: 95})
	case "png":
		err = png.Encode(&b, m)
	case "gif":
		pal := image.NewPaletted(m.Bounds(), threeColours)
		draw.Draw(pal, m.Bounds(), m, m.Bounds().Min, draw.Src)
		err = gif.Encode(&b, pal, nil)
	default:
		t.Fatalf("unknown format %s", format)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkHalves asserts that a res x res RGB thumbnail is red on its left half
// and blue on its right half, within tol per channel.
func checkHalves(t *testing.T, dst []byte, res int, tol int) {
	t.Helper()
	for y := range res {
		for x := range res {
			want := red
			if x >= res/2 {
				want = blue
			}
			o := (y*res + x) * 3
			got := [3]int{int(dst[o]), int(dst[o+1]), int(dst[o+2])}
			for c, w := range []uint8{want.R, want.G, want.B} {
				if d := got[c] - int(w); d > tol || d < -tol {
					t.Fatalf("pixel (%d,%d) = %v, want %v within %d", x, y, got, want, tol)
				}
			}
		}
	}
}

func TestThumbnail(t *testing.T) {
	src := stripes(80, 40)
	nrgba := image.NewNRGBA(src.Bounds())
	draw.Draw(nrgba, src.Bounds(), src, image.Point{}, draw.Src)
	pal := image.NewPaletted(src.Bounds(), threeColours)
	draw.Draw(pal, src.Bounds(), src, image.Point{}, draw.Src)
	cmyk := image.NewCMYK(src.Bounds())
	draw.Draw(cmyk, src.Bounds(), src, image.Point{}, draw.Src)
	jpg, err := jpeg.Decode(bytes.NewReader(encodeImage(t, src, "jpg")))
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
				checkHalves(t, dst, res, tc.tol)
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
	m.SetRGBA(0, 0, red)
	m.SetRGBA(1, 0, blue)
	m.SetRGBA(0, 1, red)
	m.SetRGBA(1, 1, blue)
	dst := make([]byte, 8*8*3)
	if err := Thumbnail(m, 8, dst); err != nil {
		t.Fatal(err)
	}
	checkHalves(t, dst, 8, 0)
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

func TestImageFolderLayouts(t *testing.T) {
	root := t.TempDir()
	src := stripes(64, 32)
	const hash = "00a1b2c3d4e5f60718293a4b5c6d7e8f"
	unpadded := "a1b2c3d4e5f60718293a4b5c6d7e8f"
	writeFile(t, filepath.Join(root, "101.jpg"), encodeImage(t, src, "jpg"))
	writeFile(t, filepath.Join(root, "102.png"), encodeImage(t, src, "png"))
	writeFile(t, filepath.Join(root, "103.gif"), encodeImage(t, src, "gif"))
	writeFile(t, filepath.Join(root, "abc", "def", "abcdef0000000000000000000000beef.jpg"), encodeImage(t, src, "jpg"))
	writeFile(t, filepath.Join(root, unpadded[0:3], unpadded[3:6], unpadded+".png"), encodeImage(t, src, "png"))
	writeFile(t, filepath.Join(root, "104.jpg"), []byte("\xff\xd8\xff\xe0 this is not really a JPEG"))
	writeFile(t, filepath.Join(root, "105.jpg"), encodeImage(t, src, "jpg")[:200]) // truncated
	f, err := NewImageFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name             string
		id, hash, ext    string
		wantErr          error
		wantPathContains string
	}{
		{"flat JPEG", "101", "", "jpg", nil, "101.jpg"},
		{"flat PNG, metadata says jpg", "102", "", "jpg", nil, "102.png"},
		{"flat GIF", "103", "", "", nil, "103.gif"},
		{"hashed JPEG", "999", "abcdef0000000000000000000000beef", "jpg", nil, "abc/def/"},
		{"hashed upper-case", "999", "ABCDEF0000000000000000000000BEEF", "jpg", nil, "abc/def/"},
		{"hashed without zero padding on disk", "998", hash, "png", nil, unpadded},
		{"hash printed without padding, file unpadded", "998", unpadded, "png", nil, unpadded},
		{"corrupt", "104", "", "jpg", ErrImageCorrupt, "104.jpg"},
		{"truncated", "105", "", "jpg", ErrImageCorrupt, "105.jpg"},
		{"missing", "106", "ffffffffffffffffffffffffffffffff", "jpg", ErrImageMissing, ""},
		{"path tricks ignored", "../101", "", "jpg", ErrImageMissing, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]byte, 8*8*3)
			p, err := f.Load(tc.id, tc.hash, tc.ext, 8, dst)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if tc.wantPathContains != "" && !bytes.Contains([]byte(filepath.ToSlash(p)), []byte(tc.wantPathContains)) {
				t.Errorf("path %q, want it to contain %q", p, tc.wantPathContains)
			}
			if err == nil {
				checkHalves(t, dst, 8, 12)
			}
		})
	}
	if _, err := NewImageFolder(filepath.Join(root, "101.jpg")); err == nil {
		t.Error("a file accepted as images folder")
	}
	if _, err := NewImageFolder(filepath.Join(root, "nope")); err == nil {
		t.Error("a missing images folder accepted")
	}
}

// opaque hides an image's concrete type, so Thumbnail takes its generic
// path (colour conversion of every pixel through At).
type opaque struct{ image.Image }

// TestWebPAndFastPaths loads WebP files (from golang.org/x/image's test
// data) through an images folder and checks the fast YCbCr/NRGBA paths
// against the generic per-pixel path on the same decoded image.
func TestWebPAndFastPaths(t *testing.T) {
	root := t.TempDir()
	for i, name := range []string{"yfcc-lossy.webp", "yfcc-lossless.webp"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		id := string(rune('1'+i)) + "00"
		writeFile(t, filepath.Join(root, id+".webp"), data)
		f, _ := NewImageFolder(root)
		const res = 16
		got := make([]byte, res*res*3)
		if _, err := f.Load(id, "", "webp", res, got); err != nil {
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

// Package testimage makes the small pictures the dataset sources' tests
// decode: encoded in every format the readers take, with thumbnails whose
// pixels are known. It is imported only by tests.
package testimage

import (
	"bytes"
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

// The colours of Stripes.
var (
	Red   = color.RGBA{220, 30, 30, 255}
	Blue  = color.RGBA{30, 30, 220, 255}
	Green = color.RGBA{30, 200, 30, 255}
)

// Palette is the palette of paletted pictures (GIF).
var Palette = color.Palette{Red, Blue, Green}

// Stripes is a w x h picture whose outer quarters are green and whose
// middle half is red on the left, blue on the right: after a center crop
// of a 2:1 picture only red and blue remain (CheckHalves).
func Stripes(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := Green
			switch {
			case x >= w/4 && x < w/2:
				c = Red
			case x >= w/2 && x < 3*w/4:
				c = Blue
			}
			m.SetRGBA(x, y, c)
		}
	}
	return m
}

// Encode writes m in the named format: "jpg", "png" or "gif".
func Encode(t testing.TB, m image.Image, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch format {
	case "jpg":
		err = jpeg.Encode(&b, m, &jpeg.Options{Quality: 95})
	case "png":
		err = png.Encode(&b, m)
	case "gif":
		pal := image.NewPaletted(m.Bounds(), Palette)
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

// WriteFile writes data at path, making its directories.
func WriteFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// CheckHalves asserts that a res x res RGB thumbnail is red on its left
// half and blue on its right half, within tol per channel: the thumbnail
// of a 2:1 Stripes picture.
func CheckHalves(t *testing.T, dst []byte, res int, tol int) {
	t.Helper()
	for y := range res {
		for x := range res {
			want := Red
			if x >= res/2 {
				want = Blue
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

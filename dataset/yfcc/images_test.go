package yfcc

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

// The image helpers of dataset/imagefile's tests, for the ingest's
// fixtures: pictures whose thumbnails are known.

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

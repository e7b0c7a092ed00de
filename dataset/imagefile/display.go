package imagefile

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"

	"golang.org/x/image/draw"
)

// DisplayQuality is the JPEG quality of display copies.
const DisplayQuality = 90

// DisplayJPEG encodes img as a JPEG whose longest side is at most px
// (never enlarged). A decoded JPEG (YCbCr) is shrunk with an area filter
// straight from its planes (each output pixel the mean of the source
// pixels under it, about five times faster than a kernel resize); other
// images with a bilinear filter that widens with the scale
// (golang.org/x/image/draw.BiLinear). Both average, rather than skip,
// the pixels a downscale drops.
func DisplayJPEG(img image.Image, px int) ([]byte, error) {
	b := img.Bounds()
	w, h := FitLongest(b.Dx(), b.Dy(), px)
	var src image.Image = img
	if w != b.Dx() || h != b.Dy() {
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		var ycc *image.YCbCr
		switch m := img.(type) {
		case *image.YCbCr:
			ycc = m
		case *image.NYCbCrA:
			ycc = &m.YCbCr
		}
		if ycc != nil {
			rgb := make([]byte, 3*w*h)
			xlo, xhi := boxEdges(b.Dx(), w)
			ylo, yhi := boxEdges(b.Dy(), h)
			thumbYCbCr(ycc, b.Min.X, b.Min.Y, w, h, xlo, xhi, ylo, yhi, rgb)
			for i := range w * h {
				copy(dst.Pix[4*i:4*i+3], rgb[3*i:3*i+3])
				dst.Pix[4*i+3] = 255
			}
		} else {
			draw.BiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
		}
		src = dst
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, src, &jpeg.Options{Quality: DisplayQuality}); err != nil {
		return nil, fmt.Errorf("encode display copy: %w", err)
	}
	return out.Bytes(), nil
}

// FitLongest is the size of a w x h image scaled so that its longest side
// is at most px, keeping its aspect ratio (each side at least 1 pixel).
func FitLongest(w, h, px int) (int, int) {
	if w <= px && h <= px {
		return w, h
	}
	if w >= h {
		return px, max(1, (h*px+w/2)/w)
	}
	return max(1, (w*px+h/2)/h), px
}

package imagefile

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // registered for image.Decode
	_ "image/jpeg"
	_ "image/png"
	"os"

	_ "golang.org/x/image/webp"

	"github.com/deepercluster/deepercluster"
)

// ErrImageCorrupt is wrapped when a file exists but does not decode.
var ErrImageCorrupt = errors.New("image corrupt")

// Load decodes the photo file at path (JPEG, PNG, GIF or WebP), then
// center-crops and resizes it into dst (res*res*3 bytes, RGB). A file that
// does not exist gives an error wrapping fs.ErrNotExist; one that does not
// decode, ErrImageCorrupt; both name the file.
func Load(path string, res int, dst []byte) error {
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	img, _, err := image.Decode(bufio.NewReaderSize(file, 64<<10))
	file.Close()
	if err != nil {
		return fmt.Errorf("%w: decode %s: %v", ErrImageCorrupt, path, err)
	}
	if err := Thumbnail(img, res, dst); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrImageCorrupt, path, err)
	}
	return nil
}

// Thumbnail center-crops img to a square and resizes it to res x res,
// writing interleaved RGB into dst. It averages the source pixels under
// each output pixel (an area filter), working directly on the decoded
// YCbCr, RGBA, grey or paletted pixels: per-pixel colour conversion
// through image.Image.At would cost more than the JPEG decode.
func Thumbnail(img image.Image, res int, dst []byte) error {
	if res <= 0 || res > 4096 {
		return fmt.Errorf("resolution %d out of range", res)
	}
	if len(dst) < deepercluster.ImageBytes(res) {
		return fmt.Errorf("destination holds %d bytes, want %d", len(dst), deepercluster.ImageBytes(res))
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return errors.New("empty image")
	}
	side := min(w, h)
	x0 := b.Min.X + (w-side)/2
	y0 := b.Min.Y + (h-side)/2
	// Box edges along one axis, shared by rows and columns.
	edges := make([]int, res+1)
	for i := 0; i <= res; i++ {
		edges[i] = i * side / res
	}
	lo := func(i int) int { return edges[i] }
	hi := func(i int) int {
		if e := edges[i+1]; e > edges[i] {
			return e
		}
		return edges[i] + 1 // upscaling: at least one source pixel
	}
	switch m := img.(type) {
	case *image.YCbCr:
		thumbYCbCr(m, x0, y0, res, res, lo, hi, lo, hi, dst)
	case *image.NYCbCrA: // lossy WebP with alpha: colour only
		thumbYCbCr(&m.YCbCr, x0, y0, res, res, lo, hi, lo, hi, dst)
	case *image.RGBA:
		thumbRGBA(m.Pix, m.Stride, (y0-m.Rect.Min.Y)*m.Stride+(x0-m.Rect.Min.X)*4, res, lo, hi, dst)
	case *image.NRGBA:
		thumbRGBA(m.Pix, m.Stride, (y0-m.Rect.Min.Y)*m.Stride+(x0-m.Rect.Min.X)*4, res, lo, hi, dst)
	case *image.Gray:
		thumbGray(m, x0, y0, res, lo, hi, dst)
	case *image.Paletted:
		thumbPaletted(m, x0, y0, res, lo, hi, dst)
	default:
		thumbGeneric(img, x0, y0, res, lo, hi, dst)
	}
	return nil
}

// thumbYCbCr averages boxes of m into an ow x oh RGB image: output column
// ox covers source columns x0+xlo(ox) to x0+xhi(ox), row oy rows
// y0+ylo(oy) to y0+yhi(oy).
func thumbYCbCr(m *image.YCbCr, x0, y0, ow, oh int, xlo, xhi, ylo, yhi func(int) int, dst []byte) {
	// COffset is a sum of a column part and a row part: look the column
	// part up in a table instead of calling COffset for every pixel.
	side := xhi(ow - 1) // the crop's width (last box edge)
	base := m.COffset(m.Rect.Min.X, m.Rect.Min.Y)
	col := make([]int, side)
	for x := range side {
		col[x] = m.COffset(x0+x, m.Rect.Min.Y) - base
	}
	for oy := 0; oy < oh; oy++ {
		ya, yb := y0+ylo(oy), y0+yhi(oy)
		for ox := 0; ox < ow; ox++ {
			xa, xb := xlo(ox), xhi(ox)
			var sy, scb, scr, n int
			for y := ya; y < yb; y++ {
				yi := m.YOffset(x0+xa, y)
				for _, v := range m.Y[yi : yi+xb-xa] {
					sy += int(v)
				}
				row := m.COffset(m.Rect.Min.X, y)
				for _, c := range col[xa:xb] {
					scb += int(m.Cb[row+c])
					scr += int(m.Cr[row+c])
				}
				n += xb - xa
			}
			// Averaging before the colour conversion is exact up to
			// clamping: the conversion is affine.
			r, g, bl := ycbcrToRGB(sy, scb, scr, n)
			o := (oy*ow + ox) * 3
			dst[o], dst[o+1], dst[o+2] = r, g, bl
		}
	}
}

// boxEdges are the box bounds of n outputs over a source of size side
// (n <= side): output i covers [lo(i), hi(i)).
func boxEdges(side, n int) (lo, hi func(int) int) {
	edges := make([]int, n+1)
	for i := range edges {
		edges[i] = i * side / n
	}
	return func(i int) int { return edges[i] }, func(i int) int { return edges[i+1] }
}

// ycbcrToRGB converts sums of n Y, Cb, Cr samples to one RGB pixel (JFIF).
func ycbcrToRGB(sy, scb, scr, n int) (uint8, uint8, uint8) {
	y := float32(sy) / float32(n)
	cb := float32(scb)/float32(n) - 128
	cr := float32(scr)/float32(n) - 128
	return clamp8(y + 1.402*cr), clamp8(y - 0.344136*cb - 0.714136*cr), clamp8(y + 1.772*cb)
}

func clamp8(v float32) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v + 0.5)
}

func thumbRGBA(pix []byte, stride, base, res int, lo, hi func(int) int, dst []byte) {
	for oy := 0; oy < res; oy++ {
		ya, yb := lo(oy), hi(oy)
		for ox := 0; ox < res; ox++ {
			xa, xb := lo(ox), hi(ox)
			var sr, sg, sb, n int
			for y := ya; y < yb; y++ {
				row := pix[base+y*stride+xa*4 : base+y*stride+xb*4]
				for i := 0; i+3 < len(row); i += 4 {
					sr += int(row[i])
					sg += int(row[i+1])
					sb += int(row[i+2])
				}
				n += xb - xa
			}
			o := (oy*res + ox) * 3
			dst[o], dst[o+1], dst[o+2] = uint8((sr+n/2)/n), uint8((sg+n/2)/n), uint8((sb+n/2)/n)
		}
	}
}

func thumbGray(m *image.Gray, x0, y0, res int, lo, hi func(int) int, dst []byte) {
	for oy := 0; oy < res; oy++ {
		ya, yb := y0+lo(oy), y0+hi(oy)
		for ox := 0; ox < res; ox++ {
			xa, xb := x0+lo(ox), x0+hi(ox)
			var s, n int
			for y := ya; y < yb; y++ {
				i := m.PixOffset(xa, y)
				for _, v := range m.Pix[i : i+xb-xa] {
					s += int(v)
				}
				n += xb - xa
			}
			v := uint8((s + n/2) / n)
			o := (oy*res + ox) * 3
			dst[o], dst[o+1], dst[o+2] = v, v, v
		}
	}
}

func thumbPaletted(m *image.Paletted, x0, y0, res int, lo, hi func(int) int, dst []byte) {
	pal := make([][3]int, 256)
	for i := range pal {
		if i < len(m.Palette) {
			r, g, b, _ := m.Palette[i].RGBA()
			pal[i] = [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}
		}
	}
	for oy := 0; oy < res; oy++ {
		ya, yb := y0+lo(oy), y0+hi(oy)
		for ox := 0; ox < res; ox++ {
			xa, xb := x0+lo(ox), x0+hi(ox)
			var sr, sg, sb, n int
			for y := ya; y < yb; y++ {
				i := m.PixOffset(xa, y)
				for _, v := range m.Pix[i : i+xb-xa] {
					c := pal[v]
					sr += c[0]
					sg += c[1]
					sb += c[2]
				}
				n += xb - xa
			}
			o := (oy*res + ox) * 3
			dst[o], dst[o+1], dst[o+2] = uint8((sr+n/2)/n), uint8((sg+n/2)/n), uint8((sb+n/2)/n)
		}
	}
}

func thumbGeneric(img image.Image, x0, y0, res int, lo, hi func(int) int, dst []byte) {
	for oy := 0; oy < res; oy++ {
		ya, yb := y0+lo(oy), y0+hi(oy)
		for ox := 0; ox < res; ox++ {
			xa, xb := x0+lo(ox), x0+hi(ox)
			var sr, sg, sb, n int
			for y := ya; y < yb; y++ {
				for x := xa; x < xb; x++ {
					r, g, b, _ := img.At(x, y).RGBA()
					sr += int(r >> 8)
					sg += int(g >> 8)
					sb += int(b >> 8)
					n++
				}
			}
			o := (oy*res + ox) * 3
			dst[o], dst[o+1], dst[o+2] = uint8((sr+n/2)/n), uint8((sg+n/2)/n), uint8((sb+n/2)/n)
		}
	}
}

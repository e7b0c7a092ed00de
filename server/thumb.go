package server

import (
	"bytes"
	"container/list"
	"fmt"
	"hash/fnv"
	"image"
	"image/jpeg"
	"image/png"
	"sync"

	"golang.org/x/image/draw"

	"github.com/deepercluster/deepercluster"
)

// Sizes a client may ask a thumbnail at (px, the longest side).
const (
	MinThumbPx = 8
	MaxThumbPx = 1024
)

// thumbQuality is the JPEG quality of thumbnails resized from display
// copies.
const thumbQuality = 90

// thumb is an encoded thumbnail, its media type and its ETag.
type thumb struct {
	data  []byte
	ctype string
	etag  string
}

// thumbKey names a cached thumbnail: an image at a size (0: as stored).
type thumbKey struct{ id, px int }

// thumbnail gives image id at px on its longest side (0: the largest the
// dataset has), from the cache or rendered. It is the one function behind
// every thumbnail endpoint.
func (s *Server) thumbnail(id, px int) (thumb, error) {
	k := thumbKey{id, px}
	if t, ok := s.thumbs.get(k); ok {
		return t, nil
	}
	t, err := renderThumb(s.ds, id, px)
	if err != nil {
		return thumb{}, err
	}
	s.thumbs.put(k, t)
	return t, nil
}

// thumbMaxPx is the largest side the dataset's thumbnails come at: its
// display copies where it keeps them, else its resolution.
func (s *Server) thumbMaxPx() int {
	if d, ok := s.ds.(deepercluster.DisplayImages); ok && d.DisplaySize() > 0 {
		return d.DisplaySize()
	}
	return s.ds.Resolution()
}

// thumbCache keeps the most recently used encoded thumbnails: encoding a PNG
// costs far more than sending it, and the UI asks for the same images
// again as the user moves around.
type thumbCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recent; values are thumbKeys
	items map[thumbKey]*list.Element
	data  map[thumbKey]thumb
}

func newThumbCache(max int) *thumbCache {
	return &thumbCache{max: max, order: list.New(), items: map[thumbKey]*list.Element{}, data: map[thumbKey]thumb{}}
}

func (c *thumbCache) get(id thumbKey) (thumb, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[id]
	if !ok {
		return thumb{}, false
	}
	c.order.MoveToFront(e)
	return c.data[id], true
}

func (c *thumbCache) put(id thumbKey, t thumb) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[id]; ok {
		c.order.MoveToFront(e)
		c.data[id] = t
		return
	}
	c.items[id] = c.order.PushFront(id)
	c.data[id] = t
	for c.order.Len() > c.max {
		e := c.order.Back()
		old := e.Value.(thumbKey)
		c.order.Remove(e)
		delete(c.items, old)
		delete(c.data, old)
	}
}

// renderThumb encodes image id of ds with its longest side at most px
// (0: no limit). A dataset with display copies (deepercluster.DisplayImages)
// gives its JPEG copy, as stored when it is no larger than px, else
// resized; others give their model-resolution image as a PNG, shrunk when
// px is smaller. Images are never enlarged: the browser scales.
func renderThumb(ds deepercluster.Dataset, id, px int) (thumb, error) {
	if d, ok := ds.(deepercluster.DisplayImages); ok && d.DisplaySize() > 0 {
		return displayThumb(d, id, px)
	}
	res := ds.Resolution()
	buf := make([]byte, deepercluster.ImageBytes(res))
	if err := ds.Image(id, buf); err != nil {
		return thumb{}, fmt.Errorf("image %d: %w", id, err)
	}
	var img image.Image
	rgba := image.NewNRGBA(image.Rect(0, 0, res, res))
	for p := 0; p < res*res; p++ {
		copy(rgba.Pix[4*p:4*p+3], buf[3*p:3*p+3])
		rgba.Pix[4*p+3] = 255
	}
	img = rgba
	if px > 0 && px < res {
		img = resize(img, px)
	}
	var out bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&out, img); err != nil {
		return thumb{}, fmt.Errorf("encode thumbnail %d: %w", id, err)
	}
	return newThumb(out.Bytes(), "image/png"), nil
}

// displayThumb is image id's display copy at px at most.
func displayThumb(d deepercluster.DisplayImages, id, px int) (thumb, error) {
	stored, err := d.DisplayJPEG(id)
	if err != nil {
		return thumb{}, fmt.Errorf("image %d: %w", id, err)
	}
	if px == 0 || px >= d.DisplaySize() {
		// The stored copy may live in a mapped file: keep our own bytes.
		return newThumb(bytes.Clone(stored), "image/jpeg"), nil
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(stored))
	if err != nil {
		return thumb{}, fmt.Errorf("image %d: display copy: %w", id, err)
	}
	if max(cfg.Width, cfg.Height) <= px {
		return newThumb(bytes.Clone(stored), "image/jpeg"), nil
	}
	img, err := jpeg.Decode(bytes.NewReader(stored))
	if err != nil {
		return thumb{}, fmt.Errorf("image %d: display copy: %w", id, err)
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, resize(img, px), &jpeg.Options{Quality: thumbQuality}); err != nil {
		return thumb{}, fmt.Errorf("encode thumbnail %d: %w", id, err)
	}
	return newThumb(out.Bytes(), "image/jpeg"), nil
}

// displaySquare writes the centre square of image id's display copy into
// dst as px x px RGB: a photo-wall tile, which is square.
func displaySquare(dst []byte, px int, d deepercluster.DisplayImages, id int) error {
	stored, err := d.DisplayJPEG(id)
	if err != nil {
		return fmt.Errorf("image %d: %w", id, err)
	}
	img, err := jpeg.Decode(bytes.NewReader(stored))
	if err != nil {
		return fmt.Errorf("image %d: display copy: %w", id, err)
	}
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	corner := b.Min.Add(image.Pt((b.Dx()-side)/2, (b.Dy()-side)/2))
	sq := image.Rectangle{Min: corner, Max: corner.Add(image.Pt(side, side))}
	out := image.NewRGBA(image.Rect(0, 0, px, px))
	draw.BiLinear.Scale(out, out.Bounds(), img, sq, draw.Src, nil)
	for p := range px * px {
		copy(dst[3*p:3*p+3], out.Pix[4*p:4*p+3])
	}
	return nil
}

// resize scales img to px on its longest side, keeping its aspect ratio,
// with a bilinear filter that widens with the scale (so a downscale
// averages every source pixel).
func resize(img image.Image, px int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w >= h {
		h = max(1, (h*px+w/2)/w)
		w = px
	} else {
		w = max(1, (w*px+h/2)/h)
		h = px
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.BiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}

func newThumb(data []byte, ctype string) thumb {
	h := fnv.New64a()
	h.Write(data)
	return thumb{data: data, ctype: ctype, etag: fmt.Sprintf(`"%016x"`, h.Sum64())}
}

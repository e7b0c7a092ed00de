package server

import (
	"bytes"
	"container/list"
	"fmt"
	"hash/fnv"
	"image"
	"image/png"
	"sync"

	"github.com/deepercluster/deepercluster"
)

// thumb is an encoded thumbnail and its ETag.
type thumb struct {
	png  []byte
	etag string
}

// thumbCache keeps the most recently used encoded thumbnails: encoding a PNG
// costs far more than sending it, and the UI asks for the same images
// again as the user moves around.
type thumbCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recent; values are int ids
	items map[int]*list.Element
	data  map[int]thumb
}

func newThumbCache(max int) *thumbCache {
	return &thumbCache{max: max, order: list.New(), items: map[int]*list.Element{}, data: map[int]thumb{}}
}

func (c *thumbCache) get(id int) (thumb, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[id]
	if !ok {
		return thumb{}, false
	}
	c.order.MoveToFront(e)
	return c.data[id], true
}

func (c *thumbCache) put(id int, t thumb) {
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
		old := e.Value.(int)
		c.order.Remove(e)
		delete(c.items, old)
		delete(c.data, old)
	}
}

// renderThumb encodes image id of ds as a PNG at the dataset's resolution.
func renderThumb(ds deepercluster.Dataset, id int) (thumb, error) {
	res := ds.Resolution()
	buf := make([]byte, deepercluster.ImageBytes(res))
	if err := ds.Image(id, buf); err != nil {
		return thumb{}, fmt.Errorf("image %d: %w", id, err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, res, res))
	for p := 0; p < res*res; p++ {
		copy(img.Pix[4*p:4*p+3], buf[3*p:3*p+3])
		img.Pix[4*p+3] = 255
	}
	var out bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&out, img); err != nil {
		return thumb{}, fmt.Errorf("encode thumbnail %d: %w", id, err)
	}
	h := fnv.New64a()
	h.Write(out.Bytes())
	return thumb{png: out.Bytes(), etag: fmt.Sprintf(`"%016x"`, h.Sum64())}, nil
}

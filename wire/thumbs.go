package wire

import (
	"encoding/binary"
	"fmt"
)

// ThumbsContentType is the media type of a thumbnail batch.
const ThumbsContentType = "application/x-deepercluster-thumbs"

// ThumbBatch is many thumbnails of one size in one body: what
// GET /api/thumbs?ids=...&px=N answers and the client decodes. Encoded,
// little-endian:
//
//	"DCT1"                magic and format version
//	u16 px                side of every thumbnail
//	u16 count             number of thumbnails
//	count x u32           image ids, in the order asked
//	count x px*px*3 bytes the thumbnails, RGB rows, in the same order
//
// Raw pixels rather than PNGs: at the few dozen pixels a side a wall
// needs they are about as small, and the client draws them into its pixel
// buffer without decoding an image per thumbnail.
type ThumbBatch struct {
	Px  int
	IDs []int32
	// Pix holds len(IDs) thumbnails of Px*Px*3 bytes each.
	Pix []byte
}

// Limits of a batch: at most MaxThumbBatch thumbnails of at most
// MaxThumbPx a side, and at most MaxThumbBatchBytes of pixels in all (so
// large thumbnails come in fewer per batch).
const (
	MaxThumbBatch      = 1024
	MaxThumbPx         = 1024
	MaxThumbBatchBytes = 32 << 20
)

// Thumb is the RGB pixels of thumbnail i.
func (b *ThumbBatch) Thumb(i int) []byte {
	per := b.Px * b.Px * 3
	return b.Pix[i*per : (i+1)*per]
}

// AppendThumbBatch encodes b after dst.
func AppendThumbBatch(dst []byte, b *ThumbBatch) []byte {
	dst = append(dst, "DCT1"...)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(b.Px))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(b.IDs)))
	for _, id := range b.IDs {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(id))
	}
	return append(dst, b.Pix[:len(b.IDs)*b.Px*b.Px*3]...)
}

// DecodeThumbBatch reads an encoded batch; Pix aliases p.
func DecodeThumbBatch(p []byte) (*ThumbBatch, error) {
	if len(p) < 8 || string(p[:4]) != "DCT1" {
		return nil, fmt.Errorf("%w: no DCT1 header", ErrBadThumbs)
	}
	px := int(binary.LittleEndian.Uint16(p[4:]))
	n := int(binary.LittleEndian.Uint16(p[6:]))
	if px < 1 || px > MaxThumbPx || n > MaxThumbBatch || n*px*px*3 > MaxThumbBatchBytes {
		return nil, fmt.Errorf("%w: %d thumbnails of %d px", ErrBadThumbs, n, px)
	}
	per := px * px * 3
	if len(p) != 8+4*n+n*per {
		return nil, fmt.Errorf("%w: %d bytes for %d thumbnails of %d px", ErrBadThumbs, len(p), n, px)
	}
	b := &ThumbBatch{Px: px, IDs: make([]int32, n), Pix: p[8+4*n:]}
	for i := range b.IDs {
		v := binary.LittleEndian.Uint32(p[8+4*i:])
		if v > 1<<31-1 {
			return nil, fmt.Errorf("%w: id %d", ErrBadThumbs, v)
		}
		b.IDs[i] = int32(v)
	}
	return b, nil
}

package wire

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

func TestThumbBatchRoundTrip(t *testing.T) {
	b := &ThumbBatch{Px: 3, IDs: []int32{7, 0, 1 << 30}, Pix: make([]byte, 3*27)}
	for i := range b.Pix {
		b.Pix[i] = byte(i)
	}
	enc := AppendThumbBatch(nil, b)
	got, err := DecodeThumbBatch(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Px != 3 || !slices.Equal(got.IDs, b.IDs) || !bytes.Equal(got.Pix, b.Pix) || !bytes.Equal(got.Thumb(1), b.Pix[27:54]) {
		t.Fatalf("round trip: %+v", got)
	}
	for _, tc := range []struct {
		name string
		p    []byte
	}{
		{"empty", nil},
		{"wrong magic", append([]byte("DCT2"), enc[4:]...)},
		{"short", enc[:len(enc)-1]},
		{"long", append(slices.Clone(enc), 0)},
		{"px zero", append([]byte("DCT1"), 0, 0, 0, 0)},
		{"px too large", append([]byte("DCT1"), 0x01, 0x04, 0, 0)},            // 1025
		{"over the byte budget", append([]byte("DCT1"), 0x00, 0x04, 0x20, 0)}, // 32 x 1024 px
		{"id over int32", append(append([]byte("DCT1"), 1, 0, 1, 0), 0, 0, 0, 0x80, 1, 2, 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeThumbBatch(tc.p); !errors.Is(err, ErrBadThumbs) {
				t.Fatalf("err %v", err)
			}
		})
	}
}

// FuzzDecodeThumbBatch: any input decodes or fails with ErrBadThumbs, and
// what decodes encodes back to the same bytes.
func FuzzDecodeThumbBatch(f *testing.F) {
	f.Add(AppendThumbBatch(nil, &ThumbBatch{Px: 2, IDs: []int32{1, 2}, Pix: make([]byte, 24)}))
	f.Add([]byte("DCT1\x01\x00\x00\x00"))
	f.Add([]byte("DCT1"))
	f.Fuzz(func(t *testing.T, p []byte) {
		b, err := DecodeThumbBatch(p)
		if err != nil {
			if !errors.Is(err, ErrBadThumbs) {
				t.Fatalf("error %v does not wrap ErrBadThumbs", err)
			}
			return
		}
		if again := AppendThumbBatch(nil, b); !bytes.Equal(again, p) {
			t.Fatalf("%q re-encodes as %q", p, again)
		}
	})
}

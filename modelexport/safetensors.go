package modelexport

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"

	"github.com/deepercluster/deepercluster/internal/atomicfile"
)

// The safetensors format (https://huggingface.co/docs/safetensors): an
// 8-byte little-endian header length N, N bytes of JSON mapping each
// tensor's name to {"dtype", "shape", "data_offsets": [begin, end]}
// (offsets into the data that follows, contiguous, in order) plus an
// optional "__metadata__" of string pairs, then the raw little-endian
// data. The header is padded with spaces to a multiple of 8 bytes, so that
// every tensor starts aligned, as the reference writer does.

// safetensorsInfo is one tensor's entry in the header.
type safetensorsInfo struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// EncodeSafetensors returns the network as a safetensors file, with
// Metadata as its __metadata__.
func EncodeSafetensors(n *Network) ([]byte, error) {
	header := map[string]any{"__metadata__": n.Metadata()}
	var off int64
	for i := range n.Tensors {
		t := &n.Tensors[i]
		if _, dup := header[t.Name]; dup {
			return nil, fmt.Errorf("safetensors: tensor %q twice", t.Name)
		}
		info := safetensorsInfo{Shape: t.Shape}
		var size int64
		switch {
		case t.F32 != nil && len(t.F32) == t.Len():
			info.DType, size = "F32", 4*int64(len(t.F32))
		case t.I64 != nil && len(t.I64) == t.Len():
			info.DType, size = "I64", 8*int64(len(t.I64))
		default:
			return nil, fmt.Errorf("safetensors: tensor %q: %d float32 and %d int64 values for shape %v", t.Name, len(t.F32), len(t.I64), t.Shape)
		}
		if info.Shape == nil {
			info.Shape = []int{}
		}
		info.DataOffsets = [2]int64{off, off + size}
		off += size
		header[t.Name] = info
	}
	js, err := json.Marshal(header)
	if err != nil {
		return nil, fmt.Errorf("safetensors: header: %w", err)
	}
	for (8+len(js))%8 != 0 {
		js = append(js, ' ')
	}
	out := make([]byte, 8, 8+int64(len(js))+off)
	binary.LittleEndian.PutUint64(out, uint64(len(js)))
	out = append(out, js...)
	for i := range n.Tensors {
		t := &n.Tensors[i]
		for _, v := range t.F32 {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
		for _, v := range t.I64 {
			out = binary.LittleEndian.AppendUint64(out, uint64(v))
		}
	}
	return out, nil
}

// WriteSafetensors writes the network to path atomically (a reader never
// sees half a file, a failed write leaves the old one).
func WriteSafetensors(path string, n *Network) error {
	data, err := EncodeSafetensors(n)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

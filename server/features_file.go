package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/internal/atomicfile"
)

// FeaturesFile is the file in the run directory (Config.DataDir) that keeps
// the features of the latest clustering, so that similar images work
// again right after a restart instead of from the next reclustering on.
// Layout, little-endian: "DCF1", u32 version, u32 n, u32 dim, n*dim
// float32, u32 CRC-32C of the floats' bytes. It costs what the features
// cost in memory: 4*n*dim bytes (25 MB for 100,000 images at dim 64).
const FeaturesFile = "features.bin"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// floatBytes views f as its little-endian bytes without a copy (Go's
// targets here are little-endian; others get a copy).
func floatBytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 {
		return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 4*len(f))
	}
	b := make([]byte, 4*len(f))
	for i, v := range f {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// saveFeatures writes f to dir atomically.
func saveFeatures(dir string, f *deepercluster.Features) error {
	head := make([]byte, 16)
	copy(head, "DCF1")
	binary.LittleEndian.PutUint32(head[4:], f.Version)
	binary.LittleEndian.PutUint32(head[8:], uint32(f.N))
	binary.LittleEndian.PutUint32(head[12:], uint32(f.Dim))
	body := floatBytes(f.Data)
	sum := binary.LittleEndian.AppendUint32(nil, crc32.Checksum(body, castagnoli))
	if err := atomicfile.WriteParts(filepath.Join(dir, FeaturesFile), head, body, sum); err != nil {
		return fmt.Errorf("features: %w", err)
	}
	return nil
}

// errNoFeatures: no features file in the run directory.
var errNoFeatures = errors.New("no saved features")

// loadFeatures reads dir's features file.
func loadFeatures(dir string) (*deepercluster.Features, error) {
	path := filepath.Join(dir, FeaturesFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoFeatures
	}
	if err != nil {
		return nil, fmt.Errorf("features: %w", err)
	}
	if len(b) < 20 || string(b[:4]) != "DCF1" {
		return nil, fmt.Errorf("features: %s: not a features file", path)
	}
	f := &deepercluster.Features{Version: binary.LittleEndian.Uint32(b[4:]),
		N: int(binary.LittleEndian.Uint32(b[8:])), Dim: int(binary.LittleEndian.Uint32(b[12:]))}
	if f.Dim < 1 || f.N < 1 || uint64(len(b)) != 20+4*uint64(f.N)*uint64(f.Dim) {
		return nil, fmt.Errorf("features: %s: %d bytes for %d x %d", path, len(b), f.N, f.Dim)
	}
	body := b[16 : len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, fmt.Errorf("features: %s: checksum mismatch", path)
	}
	f.Data = make([]float32, f.N*f.Dim)
	for i := range f.Data {
		f.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:]))
	}
	return f, nil
}

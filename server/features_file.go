package server

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/internal/atomicfile"
	"github.com/deepercluster/deepercluster/internal/npy"
)

// FeaturesFile is the file in the run directory (Config.DataDir) that keeps
// the features of the latest clustering, so that similar images work
// again right after a restart instead of from the next reclustering on:
// an n x dim float32 .npy file (internal/npy), which NumPy loads as it is.
// It costs what the features cost in memory: 4*n*dim bytes (25 MB for
// 100,000 images at dim 64).
const FeaturesFile = "features.npy"

// FeaturesMetaFile, beside FeaturesFile, says which assignment version the
// features belong to and carries the CRC-32C of FeaturesFile's bytes: .npy
// has room for neither, and a restart must neither use features of another
// version nor a torn or damaged file. It is written after FeaturesFile, so
// a crash between the two leaves a checksum that does not match, and the
// features are not used.
const FeaturesMetaFile = "features.json"

// legacyFeaturesFile is the format before .npy: "DCF1", u32 version, u32
// n, u32 dim, n*dim float32, u32 CRC-32C of the floats' bytes, all
// little-endian. It is still read when no FeaturesMetaFile exists, so a
// run directory from before keeps its features.
const legacyFeaturesFile = "features.bin"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// featuresMeta is FeaturesMetaFile's content.
type featuresMeta struct {
	Version uint32 `json:"version"`
	Rows    int    `json:"rows"`
	Cols    int    `json:"cols"`
	CRC32C  uint32 `json:"crc32c"` // of FeaturesFile's bytes, header included
}

// saveFeatures writes f to dir: FeaturesFile, then FeaturesMetaFile, each
// atomically; a legacy features.bin goes, so it is never read again.
func saveFeatures(dir string, f *deepercluster.Features) error {
	head, body, err := npy.Parts(f.N, f.Dim, f.Data)
	if err != nil {
		return fmt.Errorf("features: %w", err)
	}
	if err := atomicfile.WriteParts(filepath.Join(dir, FeaturesFile), head, body); err != nil {
		return fmt.Errorf("features: %w", err)
	}
	meta, err := json.Marshal(featuresMeta{Version: f.Version, Rows: f.N, Cols: f.Dim,
		CRC32C: crc32.Update(crc32.Checksum(head, castagnoli), castagnoli, body)})
	if err != nil {
		return fmt.Errorf("features: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(dir, FeaturesMetaFile), append(meta, '\n')); err != nil {
		return fmt.Errorf("features: %w", err)
	}
	if err := os.Remove(filepath.Join(dir, legacyFeaturesFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("features: remove the old %s: %w", legacyFeaturesFile, err)
	}
	return nil
}

// errNoFeatures: no features file in the run directory.
var errNoFeatures = errors.New("no saved features")

// loadFeatures reads dir's features: FeaturesFile checked against
// FeaturesMetaFile, or a legacy features.bin where there is no
// FeaturesMetaFile.
func loadFeatures(dir string) (*deepercluster.Features, error) {
	metaPath := filepath.Join(dir, FeaturesMetaFile)
	mb, err := os.ReadFile(metaPath)
	if errors.Is(err, fs.ErrNotExist) {
		return loadLegacyFeatures(filepath.Join(dir, legacyFeaturesFile))
	}
	if err != nil {
		return nil, fmt.Errorf("features: %w", err)
	}
	var meta featuresMeta
	if err := json.Unmarshal(mb, &meta); err != nil {
		return nil, fmt.Errorf("features: %s: %w", metaPath, err)
	}
	path := filepath.Join(dir, FeaturesFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("features: %w", err)
	}
	if crc32.Checksum(b, castagnoli) != meta.CRC32C {
		return nil, fmt.Errorf("features: %s: checksum mismatch with %s", path, FeaturesMetaFile)
	}
	n, dim, data, err := npy.Decode[float32](b)
	if err != nil {
		return nil, fmt.Errorf("features: %s: %w", path, err)
	}
	if n != meta.Rows || dim != meta.Cols || n < 1 || dim < 1 {
		return nil, fmt.Errorf("features: %s: %d x %d, %s says %d x %d", path, n, dim, FeaturesMetaFile, meta.Rows, meta.Cols)
	}
	return &deepercluster.Features{Version: meta.Version, N: n, Dim: dim, Data: data}, nil
}

// loadLegacyFeatures reads a features.bin written before FeaturesFile was
// .npy (legacyFeaturesFile has the layout).
func loadLegacyFeatures(path string) (*deepercluster.Features, error) {
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

// Package npy reads and writes 2-D float32 arrays in NumPy's .npy format
// (version 1.0, little-endian, C order): the form in which the quality
// benchmark hands features between our evaluator and its Python peer.
package npy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/deepercluster/deepercluster/internal/atomicfile"
)

var magic = []byte("\x93NUMPY")

// headerRe matches the header dictionary NumPy writes for a 2-D array.
var headerRe = regexp.MustCompile(`'descr':\s*'([<>|]?f4)',\s*'fortran_order':\s*(True|False),\s*'shape':\s*\((\d+),\s*(\d+),?\s*\)`)

// ReadFloat32 reads a 2-D float32 array: its rows, columns and the values
// row by row.
func ReadFloat32(path string) (rows, cols int, data []float32, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	head := make([]byte, 10)
	if _, err := io.ReadFull(r, head); err != nil {
		return 0, 0, nil, fmt.Errorf("npy %s: header: %w", path, err)
	}
	if string(head[:6]) != string(magic) {
		return 0, 0, nil, fmt.Errorf("npy %s: not a .npy file (magic %q)", path, head[:6])
	}
	var hlen int
	switch head[6] {
	case 1:
		hlen = int(binary.LittleEndian.Uint16(head[8:]))
	case 2, 3:
		more := make([]byte, 2)
		if _, err := io.ReadFull(r, more); err != nil {
			return 0, 0, nil, fmt.Errorf("npy %s: header: %w", path, err)
		}
		hlen = int(binary.LittleEndian.Uint32(append(head[8:10:10], more...)))
	default:
		return 0, 0, nil, fmt.Errorf("npy %s: format version %d.%d not supported", path, head[6], head[7])
	}
	if hlen > 1<<16 {
		return 0, 0, nil, fmt.Errorf("npy %s: header of %d bytes", path, hlen)
	}
	dict := make([]byte, hlen)
	if _, err := io.ReadFull(r, dict); err != nil {
		return 0, 0, nil, fmt.Errorf("npy %s: header: %w", path, err)
	}
	m := headerRe.FindSubmatch(dict)
	if m == nil {
		return 0, 0, nil, fmt.Errorf("npy %s: header %q: want a 2-D float32 array", path, dict)
	}
	if string(m[1]) == ">f4" {
		return 0, 0, nil, fmt.Errorf("npy %s: big-endian float32 not supported", path)
	}
	if string(m[2]) == "True" {
		return 0, 0, nil, fmt.Errorf("npy %s: Fortran order not supported (save with np.ascontiguousarray)", path)
	}
	rows, err1 := strconv.Atoi(string(m[3]))
	cols, err2 := strconv.Atoi(string(m[4]))
	if err := errors.Join(err1, err2); err != nil || rows < 0 || cols < 0 || rows*cols > 1<<31 {
		return 0, 0, nil, fmt.Errorf("npy %s: shape (%s, %s) out of range", path, m[3], m[4])
	}
	raw := make([]byte, 4*rows*cols)
	if _, err := io.ReadFull(r, raw); err != nil {
		return 0, 0, nil, fmt.Errorf("npy %s: %d x %d values: %w", path, rows, cols, err)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		return 0, 0, nil, fmt.Errorf("npy %s: bytes after the %d x %d values", path, rows, cols)
	}
	data = make([]float32, rows*cols)
	for i := range data {
		data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return rows, cols, data, nil
}

// WriteFloat32 writes rows x cols values (row by row) as a .npy file,
// atomically.
func WriteFloat32(path string, rows, cols int, data []float32) error {
	if len(data) != rows*cols {
		return fmt.Errorf("npy %s: %d values for %d x %d", path, len(data), rows, cols)
	}
	dict := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols)
	// Pad with spaces and a newline so the data starts at a multiple of 64.
	total := len(magic) + 4 + len(dict) + 1
	dict += strings.Repeat(" ", (64-total%64)%64) + "\n"
	out := make([]byte, 0, len(magic)+4+len(dict)+4*len(data))
	out = append(out, magic...)
	out = append(out, 1, 0)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(dict)))
	out = append(out, dict...)
	for _, v := range data {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
	}
	return atomicfile.Write(path, out)
}

// Package npy reads and writes 2-D float32 and int32 arrays in NumPy's
// .npy format (version 1.0, little-endian, C order). It is the one file
// format of the module's matrices (the server's saved features, the
// pipeline's per-shard features and labels, eval's feature dumps), so a
// NumPy user can np.load any of them.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unsafe"

	"github.com/deepercluster/deepercluster/internal/atomicfile"
)

// Elem is an element type an array may hold: float32 (features) or int32
// (labels).
type Elem interface{ float32 | int32 }

var magic = []byte("\x93NUMPY")

// headerRe matches the header dictionary NumPy writes for a 2-D array.
var headerRe = regexp.MustCompile(`'descr':\s*'([<>|=]?)([a-z])(\d+)',\s*'fortran_order':\s*(True|False),\s*'shape':\s*\((\d+),\s*(\d+),?\s*\)`)

// kind is NumPy's type character and the name of T in errors.
func kind[T Elem]() (byte, string) {
	var z T
	switch any(z).(type) {
	case float32:
		return 'f', "float32"
	default:
		return 'i', "int32"
	}
}

// Parts encodes a rows x cols array (data row by row) as a .npy header and
// body, the body a view of data where the machine is little-endian (no
// copy of a large matrix): for callers that write it with something of
// their own (a checksum) through atomicfile.WriteParts.
func Parts[T Elem](rows, cols int, data []T) (header, body []byte, err error) {
	if rows < 0 || cols < 0 || len(data) != rows*cols {
		return nil, nil, fmt.Errorf("npy: %d values for %d x %d", len(data), rows, cols)
	}
	c, _ := kind[T]()
	dict := fmt.Sprintf("{'descr': '<%c4', 'fortran_order': False, 'shape': (%d, %d), }", c, rows, cols)
	// Pad with spaces and a newline so the data starts at a multiple of 64.
	total := len(magic) + 4 + len(dict) + 1
	dict += strings.Repeat(" ", (64-total%64)%64) + "\n"
	header = make([]byte, 0, len(magic)+4+len(dict))
	header = append(header, magic...)
	header = append(header, 1, 0)
	header = binary.LittleEndian.AppendUint16(header, uint16(len(dict)))
	header = append(header, dict...)
	return header, bytesOf(data), nil
}

// bytesOf is data's little-endian bytes: a view on little-endian machines,
// a copy elsewhere.
func bytesOf[T Elem](data []T) []byte {
	if len(data) == 0 {
		return nil
	}
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 {
		return unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data))
	}
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], bits(v))
	}
	return b
}

func bits[T Elem](v T) uint32 {
	switch x := any(v).(type) {
	case float32:
		return math.Float32bits(x)
	case int32:
		return uint32(x)
	}
	panic("unreachable")
}

// Write writes a rows x cols array (row by row) as a .npy file,
// atomically (internal/atomicfile).
func Write[T Elem](path string, rows, cols int, data []T) error {
	head, body, err := Parts(rows, cols, data)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteParts(path, head, body)
}

// header reads a .npy header from r: the shape and how many bytes it took.
func header[T Elem](r *bufio.Reader) (rows, cols, size int, err error) {
	head := make([]byte, 10)
	if _, err := io.ReadFull(r, head); err != nil {
		return 0, 0, 0, fmt.Errorf("header: %w", err)
	}
	if string(head[:6]) != string(magic) {
		return 0, 0, 0, fmt.Errorf("not a .npy file (magic %q)", head[:6])
	}
	var hlen int
	size = 10
	switch head[6] {
	case 1:
		hlen = int(binary.LittleEndian.Uint16(head[8:]))
	case 2, 3:
		more := make([]byte, 2)
		if _, err := io.ReadFull(r, more); err != nil {
			return 0, 0, 0, fmt.Errorf("header: %w", err)
		}
		hlen = int(binary.LittleEndian.Uint32(append(head[8:10:10], more...)))
		size += 2
	default:
		return 0, 0, 0, fmt.Errorf("format version %d.%d not supported", head[6], head[7])
	}
	if hlen > 1<<16 {
		return 0, 0, 0, fmt.Errorf("header of %d bytes", hlen)
	}
	dict := make([]byte, hlen)
	if _, err := io.ReadFull(r, dict); err != nil {
		return 0, 0, 0, fmt.Errorf("header: %w", err)
	}
	size += hlen
	c, name := kind[T]()
	m := headerRe.FindSubmatch(dict)
	if m == nil || m[2][0] != c || string(m[3]) != "4" {
		return 0, 0, 0, fmt.Errorf("header %q: want a 2-D %s array", dict, name)
	}
	if string(m[1]) == ">" {
		return 0, 0, 0, fmt.Errorf("big-endian %s not supported", name)
	}
	if string(m[4]) == "True" {
		return 0, 0, 0, errors.New("Fortran order not supported (save with np.ascontiguousarray)")
	}
	rows, err1 := strconv.Atoi(string(m[5]))
	cols, err2 := strconv.Atoi(string(m[6]))
	if err := errors.Join(err1, err2); err != nil || rows < 0 || cols < 0 || rows*cols > 1<<31 {
		return 0, 0, 0, fmt.Errorf("shape (%s, %s) out of range", m[5], m[6])
	}
	return rows, cols, size, nil
}

// Decode reads a whole .npy file held in b: its rows, columns and the
// values row by row.
func Decode[T Elem](b []byte) (rows, cols int, data []T, err error) {
	r := bufio.NewReader(bytes.NewReader(b))
	rows, cols, size, err := header[T](r)
	if err != nil {
		return 0, 0, nil, err
	}
	raw := b[size:]
	if len(raw) < 4*rows*cols {
		return 0, 0, nil, fmt.Errorf("%d x %d values: %d bytes, want %d", rows, cols, len(raw), 4*rows*cols)
	}
	if len(raw) > 4*rows*cols {
		return 0, 0, nil, fmt.Errorf("bytes after the %d x %d values", rows, cols)
	}
	data = make([]T, rows*cols)
	for i := range data {
		u := binary.LittleEndian.Uint32(raw[4*i:])
		switch p := any(&data[i]).(type) {
		case *float32:
			*p = math.Float32frombits(u)
		case *int32:
			*p = int32(u)
		}
	}
	return rows, cols, data, nil
}

// Read reads a 2-D array from the .npy file at path.
func Read[T Elem](path string) (rows, cols int, data []T, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("npy: %w", err)
	}
	rows, cols, data, err = Decode[T](b)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("npy %s: %w", path, err)
	}
	return rows, cols, data, nil
}

// RowReader reads single rows of a .npy file without loading it whole:
// the pipeline's PCA sample draws a few rows from every shard.
type RowReader[T Elem] struct {
	f          *os.File
	path       string
	rows, cols int
	offset     int64
}

// OpenRows opens the .npy file at path for reading rows.
func OpenRows[T Elem](path string) (*RowReader[T], error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	rows, cols, size, err := header[T](bufio.NewReader(f))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("npy %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("npy: %w", err)
	}
	if want := int64(size) + 4*int64(rows)*int64(cols); st.Size() != want {
		f.Close()
		return nil, fmt.Errorf("npy %s: %d bytes, want %d for %d x %d", path, st.Size(), want, rows, cols)
	}
	return &RowReader[T]{f: f, path: path, rows: rows, cols: cols, offset: int64(size)}, nil
}

// Shape is the array's rows and columns.
func (r *RowReader[T]) Shape() (rows, cols int) { return r.rows, r.cols }

// ReadRow reads row i into dst (cols values).
func (r *RowReader[T]) ReadRow(i int, dst []T) error {
	if i < 0 || i >= r.rows || len(dst) != r.cols {
		return fmt.Errorf("npy %s: row %d into %d values of a %d x %d array", r.path, i, len(dst), r.rows, r.cols)
	}
	raw := make([]byte, 4*r.cols)
	if _, err := r.f.ReadAt(raw, r.offset+int64(i)*int64(len(raw))); err != nil {
		return fmt.Errorf("npy %s row %d: %w", r.path, i, err)
	}
	for k := range dst {
		u := binary.LittleEndian.Uint32(raw[4*k:])
		switch p := any(&dst[k]).(type) {
		case *float32:
			*p = math.Float32frombits(u)
		case *int32:
			*p = int32(u)
		}
	}
	return nil
}

// Close closes the file.
func (r *RowReader[T]) Close() error { return r.f.Close() }

// Package idx reads the IDX files of MNIST-style datasets (MNIST,
// Fashion-MNIST: gzipped, unsigned bytes, 28x28 grey images and one label
// per image) into an in-memory labelled dataset with the published
// train/test split. It is the one reader behind dataset/fashionmnist and
// dataset/mnist, which differ only in where their files live and what
// their classes are called.
package idx

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/deepercluster/deepercluster"
)

// Split picks the part of a dataset with a published train/test division.
type Split int

// The two splits of MNIST and Fashion-MNIST: 60,000 training and 10,000
// test images.
const (
	Train Split = iota
	Test
)

// String gives the name used in flags and photo ids.
func (s Split) String() string {
	switch s {
	case Train:
		return "train"
	case Test:
		return "test"
	}
	return "split(" + strconv.Itoa(int(s)) + ")"
}

// ParseSplit reads a split name as given on the command line.
func ParseSplit(s string) (Split, error) {
	switch s {
	case "train":
		return Train, nil
	case "test", "t10k":
		return Test, nil
	}
	return 0, fmt.Errorf("unknown split %q: want train or test", s)
}

// filePrefix is the upstream file name prefix of a split.
func (s Split) filePrefix() (string, error) {
	switch s {
	case Train:
		return "train", nil
	case Test:
		return "t10k", nil
	}
	return "", fmt.Errorf("unknown split %d: want Train or Test", int(s))
}

// Side is the image side of MNIST-style datasets, in pixels.
const Side = 28

// The IDX magic numbers of the two files of a split.
const (
	ImageMagic = 0x00000803 // unsigned byte, 3 dimensions
	LabelMagic = 0x00000801 // unsigned byte, 1 dimension
)

// maxCount bounds the header's count so a corrupt header cannot make us
// allocate gigabytes before noticing the file is short.
const maxCount = 1 << 20

// Spec says what differs between MNIST-style datasets: the name errors
// and photo ids carry, the class names in label order, and what to tell a
// user whose files are missing.
type Spec struct {
	// Name is the dataset's command-line name ("mnist", "fashion-mnist").
	Name string
	// Classes are the class names, in label order.
	Classes []string
	// Install tells a user how to get the files ("install the Debian
	// package dataset-fashion-mnist ..."), appended to not-found errors.
	Install string
}

// Dataset is one split held fully in memory (47 MB for a training split):
// real images no one here made, with labels, so cluster quality can be
// measured on data that is not ours. It is read-only after Open, so safe
// for concurrent use.
type Dataset struct {
	name    string
	classes []string
	split   Split
	pixels  []byte // n * 28 * 28 grey values
	labels  []byte
}

// Open reads a split from dir, checking the IDX magic numbers, the 28x28
// shape, that images and labels agree in count, that every label names a
// class and that no file is short or has trailing bytes.
func Open(spec Spec, dir string, split Split) (*Dataset, error) {
	prefix, err := split.filePrefix()
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s directory %s does not exist: %s: %w", spec.Name, dir, spec.Install, err)
		}
		return nil, fmt.Errorf("%s directory %s: %w", spec.Name, dir, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s directory %s is not a directory", spec.Name, dir)
	}
	imgPath := filepath.Join(dir, prefix+"-images-idx3-ubyte.gz")
	lblPath := filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz")
	pixels, n, err := ReadUbyte(imgPath, ImageMagic, []int{Side, Side})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Name, withInstall(err, spec))
	}
	labels, m, err := ReadUbyte(lblPath, LabelMagic, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", spec.Name, withInstall(err, spec))
	}
	if n != m {
		return nil, fmt.Errorf("%s %s split: %s holds %d images but %s holds %d labels", spec.Name, split, imgPath, n, lblPath, m)
	}
	for i, l := range labels {
		if int(l) >= len(spec.Classes) {
			return nil, fmt.Errorf("%s: label %d of item %d is outside [0,%d)", lblPath, l, i, len(spec.Classes))
		}
	}
	return &Dataset{name: spec.Name, classes: spec.Classes, split: split, pixels: pixels, labels: labels}, nil
}

// withInstall adds the install advice to a missing-file error.
func withInstall(err error, spec Spec) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w (%s)", err, spec.Install)
	}
	return err
}

// ReadUbyte reads a gzipped unsigned-byte IDX file whose magic number must
// be magic and whose dimensions after the first (the item count) must
// equal dims, and returns its data and item count. Reading to the end
// makes gzip verify its checksum; trailing bytes are an error.
func ReadUbyte(path string, magic uint32, dims []int) (data []byte, count int, err error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, fmt.Errorf("file %s is missing: %w", path, err)
		}
		return nil, 0, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: not a gzip file: %w", path, err)
	}
	defer zr.Close()
	header := make([]byte, 4*(2+len(dims)))
	if _, err := io.ReadFull(zr, header); err != nil {
		return nil, 0, fmt.Errorf("%s: IDX header (%d bytes) is truncated: %w", path, len(header), err)
	}
	if got := binary.BigEndian.Uint32(header); got != magic {
		return nil, 0, fmt.Errorf("%s: bad IDX magic number 0x%08x, want 0x%08x", path, got, magic)
	}
	c := binary.BigEndian.Uint32(header[4:])
	if c == 0 || c > maxCount {
		return nil, 0, fmt.Errorf("%s: IDX item count %d is outside [1,%d]", path, c, maxCount)
	}
	itemSize := 1
	for k, want := range dims {
		got := binary.BigEndian.Uint32(header[8+4*k:])
		if int(got) != want {
			return nil, 0, fmt.Errorf("%s: IDX dimension %d is %d, want %d", path, k+1, got, want)
		}
		itemSize *= want
	}
	data = make([]byte, int(c)*itemSize)
	if n, err := io.ReadFull(zr, data); err != nil {
		return nil, 0, fmt.Errorf("%s: truncated: header promises %d items (%d data bytes) but only %d bytes follow: %w", path, c, len(data), n, err)
	}
	extra, err := io.Copy(io.Discard, zr)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", path, err)
	}
	if extra > 0 {
		return nil, 0, fmt.Errorf("%s: %d bytes after the %d items the header promises", path, extra, c)
	}
	return data, int(c), nil
}

var _ deepercluster.Dataset = (*Dataset)(nil)

// Len is the number of images of the split (60,000 or 10,000 upstream).
func (d *Dataset) Len() int { return len(d.labels) }

// Resolution is 28: the images are used at their native size.
func (d *Dataset) Resolution() int { return Side }

// Split tells which split was opened.
func (d *Dataset) Split() Split { return d.split }

// Name is the dataset's command-line name, as its Spec gave it.
func (d *Dataset) Name() string { return d.name }

// Image writes image i with its grey value replicated to R, G and B, so the
// same network takes grey and colour datasets.
func (d *Dataset) Image(i int, dst []byte) error {
	if i < 0 || i >= d.Len() {
		return fmt.Errorf("%s %s image %d outside [0,%d)", d.name, d.split, i, d.Len())
	}
	const n = Side * Side
	if len(dst) < n*deepercluster.Channels {
		return fmt.Errorf("%s image %d: destination holds %d bytes, need %d", d.name, i, len(dst), n*deepercluster.Channels)
	}
	src := d.pixels[i*n : (i+1)*n]
	for k, g := range src {
		dst[3*k], dst[3*k+1], dst[3*k+2] = g, g, g
	}
	return nil
}

// Meta names the image by split and index and carries its class name as the
// title, which is all the upstream files hold. Out-of-range i gives an empty
// Meta.
func (d *Dataset) Meta(i int) deepercluster.Meta {
	if i < 0 || i >= d.Len() {
		return deepercluster.Meta{}
	}
	return deepercluster.Meta{
		PhotoID: d.split.String() + "-" + strconv.Itoa(i),
		Title:   d.classes[d.labels[i]],
	}
}

// Label is the upstream class of image i.
func (d *Dataset) Label(i int) (int, bool) {
	if i < 0 || i >= d.Len() {
		return -1, false
	}
	return int(d.labels[i]), true
}

// ClassNames are the class names in label order, for reports.
func (d *Dataset) ClassNames() []string {
	return append([]string(nil), d.classes...)
}

// NumLabels is the number of classes.
func (d *Dataset) NumLabels() int { return len(d.classes) }

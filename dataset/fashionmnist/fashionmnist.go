package fashionmnist

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

// DefaultDir is where the Debian package dataset-fashion-mnist
// installs the gzipped IDX files; the CLI flag defaults to it.
const DefaultDir = "/usr/share/datasets/fashion-mnist"

// debianPackage is named in errors so a user knows what to install.
const debianPackage = "dataset-fashion-mnist"

// Split picks the part of a dataset with a published train/test division.
type Split int

// The two Fashion-MNIST splits: 60,000 training and 10,000 test images.
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

// classes are the upstream class names, in label order.
var classes = [...]string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

const (
	fmSide        = 28
	idxImageMagic = 0x00000803 // unsigned byte, 3 dimensions
	idxLabelMagic = 0x00000801 // unsigned byte, 1 dimension
	// idxMaxCount bounds the header's count so a corrupt header cannot make
	// us allocate gigabytes before noticing the file is short.
	idxMaxCount = 1 << 20
)

// Dataset is one split of Fashion-MNIST held fully in memory (47 MB for
// the training split): real photographs of clothes no one here made, with
// labels, so cluster quality can be measured on data that is not ours.
// It is read-only after Open, so safe for concurrent use.
type Dataset struct {
	split  Split
	pixels []byte // n * 28 * 28 grey values
	labels []byte
}

// Open reads a split from dir (DefaultDir when the
// package is installed), checking the IDX magic numbers, the 28x28 shape,
// that images and labels agree in count and that no file is short or has
// trailing bytes.
func Open(dir string, split Split) (*Dataset, error) {
	prefix, err := split.filePrefix()
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("fashion-mnist directory %s does not exist: install the Debian package %s (apt-get install %s) or pass the directory that holds the IDX files: %w", dir, debianPackage, debianPackage, err)
		}
		return nil, fmt.Errorf("fashion-mnist directory %s: %w", dir, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("fashion-mnist directory %s is not a directory", dir)
	}
	imgPath := filepath.Join(dir, prefix+"-images-idx3-ubyte.gz")
	lblPath := filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz")
	pixels, n, err := readIDX(imgPath, idxImageMagic, []int{fmSide, fmSide})
	if err != nil {
		return nil, err
	}
	labels, m, err := readIDX(lblPath, idxLabelMagic, nil)
	if err != nil {
		return nil, err
	}
	if n != m {
		return nil, fmt.Errorf("fashion-mnist %s split: %s holds %d images but %s holds %d labels", split, imgPath, n, lblPath, m)
	}
	for i, l := range labels {
		if int(l) >= len(classes) {
			return nil, fmt.Errorf("%s: label %d of item %d is outside [0,%d)", lblPath, l, i, len(classes))
		}
	}
	return &Dataset{split: split, pixels: pixels, labels: labels}, nil
}

// readIDX reads a gzipped unsigned-byte IDX file whose dimensions after the
// first (the item count) must equal dims, and returns its data and count.
func readIDX(path string, magic uint32, dims []int) (data []byte, count int, err error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, fmt.Errorf("fashion-mnist file %s is missing: install the Debian package %s: %w", path, debianPackage, err)
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
	if c == 0 || c > idxMaxCount {
		return nil, 0, fmt.Errorf("%s: IDX item count %d is outside [1,%d]", path, c, idxMaxCount)
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
	// Reading to EOF also makes gzip verify its checksum.
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
func (d *Dataset) Resolution() int { return fmSide }

// Split tells which split was opened.
func (d *Dataset) Split() Split { return d.split }

// Image writes image i with its grey value replicated to R, G and B, so the
// same network takes Fashion-MNIST and colour datasets.
func (d *Dataset) Image(i int, dst []byte) error {
	if i < 0 || i >= d.Len() {
		return fmt.Errorf("fashion-mnist %s image %d outside [0,%d)", d.split, i, d.Len())
	}
	const n = fmSide * fmSide
	if len(dst) < n*deepercluster.Channels {
		return fmt.Errorf("fashion-mnist image %d: destination holds %d bytes, need %d", i, len(dst), n*deepercluster.Channels)
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
		Title:   classes[d.labels[i]],
	}
}

// Label is the upstream class of image i, in [0, 10).
func (d *Dataset) Label(i int) (int, bool) {
	if i < 0 || i >= d.Len() {
		return -1, false
	}
	return int(d.labels[i]), true
}

// ClassNames are the ten class names in label order, for reports.
func (d *Dataset) ClassNames() []string {
	return append([]string(nil), classes[:]...)
}

// NumLabels is the number of classes (10).
func (d *Dataset) NumLabels() int { return len(classes) }

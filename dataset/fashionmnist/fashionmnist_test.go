package fashionmnist

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster/dataset/idx"
	"github.com/deepercluster/deepercluster/internal/citest"
)

// idxBytes builds an uncompressed IDX file: magic, then dims, then data.
func idxBytes(magic uint32, dims []uint32, data []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, magic)
	for _, d := range dims {
		_ = binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(data)
	return b.Bytes()
}

func writeGz(t *testing.T, path string, raw []byte) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// goodImages and goodLabels are a valid 3-item split.
func goodImages(n int) []byte {
	data := make([]byte, n*28*28)
	for i := range data {
		data[i] = byte(i * 7)
	}
	return idxBytes(idx.ImageMagic, []uint32{uint32(n), 28, 28}, data)
}

func goodLabels(labels ...byte) []byte {
	return idxBytes(idx.LabelMagic, []uint32{uint32(len(labels))}, labels)
}

func TestFashionMNISTCrafted(t *testing.T) {
	tests := []struct {
		name    string
		images  []byte // nil: file absent
		labels  []byte
		rawGz   []byte // written as is instead of gzipping images
		wantErr []string
	}{
		{name: "ok", images: goodImages(3), labels: goodLabels(0, 9, 4)},
		{name: "bad image magic", images: idxBytes(0x804, []uint32{3, 28, 28}, make([]byte, 3*784)), labels: goodLabels(0, 1, 2),
			wantErr: []string{"train-images-idx3-ubyte.gz", "magic", "0x00000804"}},
		{name: "bad label magic", images: goodImages(3), labels: idxBytes(0x803, []uint32{3}, []byte{0, 1, 2}),
			wantErr: []string{"train-labels-idx1-ubyte.gz", "magic"}},
		{name: "wrong dims", images: idxBytes(idx.ImageMagic, []uint32{3, 32, 28}, make([]byte, 3*32*28)), labels: goodLabels(0, 1, 2),
			wantErr: []string{"train-images-idx3-ubyte.gz", "dimension 1 is 32, want 28"}},
		{name: "truncated data", images: goodImages(3)[:16+2*784+5], labels: goodLabels(0, 1, 2),
			wantErr: []string{"train-images-idx3-ubyte.gz", "truncated", "3 items"}},
		{name: "truncated header", images: goodImages(3)[:10], labels: goodLabels(0, 1, 2),
			wantErr: []string{"train-images-idx3-ubyte.gz", "header", "truncated"}},
		{name: "trailing bytes", images: append(goodImages(3), 1, 2, 3), labels: goodLabels(0, 1, 2),
			wantErr: []string{"train-images-idx3-ubyte.gz", "3 bytes after"}},
		{name: "count mismatch", images: goodImages(3), labels: goodLabels(0, 1),
			wantErr: []string{"3 images", "2 labels"}},
		{name: "label out of range", images: goodImages(3), labels: goodLabels(0, 10, 1),
			wantErr: []string{"train-labels-idx1-ubyte.gz", "label 10 of item 1"}},
		{name: "zero count", images: idxBytes(idx.ImageMagic, []uint32{0, 28, 28}, nil), labels: goodLabels(),
			wantErr: []string{"train-images-idx3-ubyte.gz", "count 0"}},
		{name: "huge count", images: idxBytes(idx.ImageMagic, []uint32{1 << 30, 28, 28}, nil), labels: goodLabels(0),
			wantErr: []string{"count 1073741824"}},
		{name: "not gzip", rawGz: []byte("this is not gzip"), labels: goodLabels(0),
			wantErr: []string{"train-images-idx3-ubyte.gz", "not a gzip"}},
		{name: "labels file missing", images: goodImages(3),
			wantErr: []string{"train-labels-idx1-ubyte.gz", "is missing", "dataset-fashion-mnist"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			imgPath := filepath.Join(dir, "train-images-idx3-ubyte.gz")
			switch {
			case tc.rawGz != nil:
				if err := os.WriteFile(imgPath, tc.rawGz, 0o644); err != nil {
					t.Fatal(err)
				}
			case tc.images != nil:
				writeGz(t, imgPath, tc.images)
			}
			if tc.labels != nil {
				writeGz(t, filepath.Join(dir, "train-labels-idx1-ubyte.gz"), tc.labels)
			}
			d, err := Open(dir, Train)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error, want one mentioning %q", tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Len() != 3 || d.Resolution() != 28 || d.NumLabels() != 10 {
				t.Fatalf("len %d res %d labels %d, want 3, 28, 10", d.Len(), d.Resolution(), d.NumLabels())
			}
			img := make([]byte, 28*28*3)
			if err := d.Image(1, img); err != nil {
				t.Fatal(err)
			}
			for k := 0; k < 28*28; k++ {
				want := byte((784 + k) * 7)
				if img[3*k] != want || img[3*k+1] != want || img[3*k+2] != want {
					t.Fatalf("pixel %d = %v, want grey %d replicated", k, img[3*k:3*k+3], want)
				}
			}
			if l, ok := d.Label(1); !ok || l != 9 {
				t.Errorf("label 1 = %d, %v; want 9, true", l, ok)
			}
			m := d.Meta(2)
			if m.PhotoID != "train-2" || m.Title != "Coat" {
				t.Errorf("meta 2 = %q %q, want train-2 Coat", m.PhotoID, m.Title)
			}
			if err := d.Image(3, img); err == nil {
				t.Error("image 3 of 3: no error")
			}
			if err := d.Image(0, img[:100]); err == nil {
				t.Error("short destination: no error")
			}
			if _, ok := d.Label(-1); ok {
				t.Error("label -1 reported as present")
			}
		})
	}
}

func TestFashionMNISTMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	_, err := Open(dir, Test)
	if err == nil || !strings.Contains(err.Error(), "dataset-fashion-mnist") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("error %v does not name the directory and the package dataset-fashion-mnist", err)
	}
	if _, err := Open(t.TempDir(), Split(7)); err == nil {
		t.Fatal("unknown split: no error")
	}
}

func TestParseSplit(t *testing.T) {
	tests := []struct {
		in   string
		want Split
		ok   bool
	}{
		{"train", Train, true}, {"test", Test, true}, {"t10k", Test, true}, {"val", 0, false}, {"", 0, false},
	}
	for _, tc := range tests {
		got, err := ParseSplit(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseSplit(%q) = %v, %v", tc.in, got, err)
		}
		if tc.ok && got.String() != map[Split]string{Train: "train", Test: "test"}[tc.want] {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
}

// TestFashionMNISTReal reads the files of the Debian package; CI installs
// it, a developer machine without it skips.
func TestFashionMNISTReal(t *testing.T) {
	if _, err := os.Stat(DefaultDir); err != nil {
		citest.Missing(t, "%s missing (install the Debian package dataset-fashion-mnist: make deps): %v", DefaultDir, err)
	}
	tests := []struct {
		split Split
		n     int
	}{{Train, 60000}, {Test, 10000}}
	for _, tc := range tests {
		t.Run(tc.split.String(), func(t *testing.T) {
			d, err := Open(DefaultDir, tc.split)
			if err != nil {
				t.Fatal(err)
			}
			if d.Len() != tc.n {
				t.Fatalf("%d images, want %d", d.Len(), tc.n)
			}
			counts := make([]int, d.NumLabels())
			for i := 0; i < d.Len(); i++ {
				l, ok := d.Label(i)
				if !ok || l < 0 || l >= 10 {
					t.Fatalf("label %d = %d, %v", i, l, ok)
				}
				counts[l]++
			}
			// Fashion-MNIST is balanced: every class has exactly n/10 images.
			for c, k := range counts {
				if k != tc.n/10 {
					t.Errorf("class %d (%s) has %d images, want %d", c, d.ClassNames()[c], k, tc.n/10)
				}
			}
			// Images are not blank: mean grey over the first 100 between 40 and 120
			// (clothes, bright on a black background).
			img := make([]byte, 28*28*3)
			sum := 0
			for i := 0; i < 100; i++ {
				if err := d.Image(i, img); err != nil {
					t.Fatal(err)
				}
				for _, v := range img {
					sum += int(v)
				}
			}
			if mean := float64(sum) / float64(100*len(img)); mean < 40 || mean > 120 {
				t.Errorf("mean grey of the first 100 images %.1f outside [40,120]", mean)
			}
			l0, _ := d.Label(0)
			if m := d.Meta(0); m.PhotoID != tc.split.String()+"-0" || m.Title != d.ClassNames()[l0] {
				t.Errorf("meta 0 = %+v", m)
			}
		})
	}
}

package folder

import (
	"bytes"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset/synthetic"
)

// BenchmarkLoadFolderImage is one 640x480 JPEG through loadFolderImage:
// read, decode, 32 px crop, 256 px display copy, keywords.
func BenchmarkLoadFolderImage(b *testing.B) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, synthetic.ScenePhoto(2, 1, 640, 480), &jpeg.Options{Quality: 85}); err != nil {
		b.Fatal(err)
	}
	p := filepath.Join(b.TempDir(), "a.jpg")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, deepercluster.ImageBytes(32))
	for b.Loop() {
		if _, _, _, err := loadFolderImage(p, 32, 256, dst); err != nil {
			b.Fatal(err)
		}
	}
}

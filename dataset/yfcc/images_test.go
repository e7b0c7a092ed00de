package yfcc

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/deepercluster/deepercluster/dataset/imagefile"
	"github.com/deepercluster/deepercluster/dataset/internal/testimage"
)

func TestImageFolderLayouts(t *testing.T) {
	root := t.TempDir()
	src := testimage.Stripes(64, 32)
	const hash = "00a1b2c3d4e5f60718293a4b5c6d7e8f"
	unpadded := "a1b2c3d4e5f60718293a4b5c6d7e8f"
	testimage.WriteFile(t, filepath.Join(root, "101.jpg"), testimage.Encode(t, src, "jpg"))
	testimage.WriteFile(t, filepath.Join(root, "102.png"), testimage.Encode(t, src, "png"))
	testimage.WriteFile(t, filepath.Join(root, "103.gif"), testimage.Encode(t, src, "gif"))
	testimage.WriteFile(t, filepath.Join(root, "abc", "def", "abcdef0000000000000000000000beef.jpg"), testimage.Encode(t, src, "jpg"))
	testimage.WriteFile(t, filepath.Join(root, unpadded[0:3], unpadded[3:6], unpadded+".png"), testimage.Encode(t, src, "png"))
	testimage.WriteFile(t, filepath.Join(root, "104.jpg"), []byte("\xff\xd8\xff\xe0 this is not really a JPEG"))
	testimage.WriteFile(t, filepath.Join(root, "105.jpg"), testimage.Encode(t, src, "jpg")[:200]) // truncated
	f, err := NewImageFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name             string
		id, hash, ext    string
		wantErr          error
		wantPathContains string
	}{
		{"flat JPEG", "101", "", "jpg", nil, "101.jpg"},
		{"flat PNG, metadata says jpg", "102", "", "jpg", nil, "102.png"},
		{"flat GIF", "103", "", "", nil, "103.gif"},
		{"hashed JPEG", "999", "abcdef0000000000000000000000beef", "jpg", nil, "abc/def/"},
		{"hashed upper-case", "999", "ABCDEF0000000000000000000000BEEF", "jpg", nil, "abc/def/"},
		{"hashed without zero padding on disk", "998", hash, "png", nil, unpadded},
		{"hash printed without padding, file unpadded", "998", unpadded, "png", nil, unpadded},
		{"corrupt", "104", "", "jpg", imagefile.ErrImageCorrupt, "104.jpg"},
		{"truncated", "105", "", "jpg", imagefile.ErrImageCorrupt, "105.jpg"},
		{"missing", "106", "ffffffffffffffffffffffffffffffff", "jpg", ErrImageMissing, ""},
		{"path tricks ignored", "../101", "", "jpg", ErrImageMissing, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]byte, 8*8*3)
			p, err := f.Load(tc.id, tc.hash, tc.ext, 8, dst)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if tc.wantPathContains != "" && !bytes.Contains([]byte(filepath.ToSlash(p)), []byte(tc.wantPathContains)) {
				t.Errorf("path %q, want it to contain %q", p, tc.wantPathContains)
			}
			if err == nil {
				testimage.CheckHalves(t, dst, 8, 12)
			}
		})
	}
	if _, err := NewImageFolder(filepath.Join(root, "101.jpg")); err == nil {
		t.Error("a file accepted as images folder")
	}
	if _, err := NewImageFolder(filepath.Join(root, "nope")); err == nil {
		t.Error("a missing images folder accepted")
	}
}

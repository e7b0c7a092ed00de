package yfcc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/deepercluster/deepercluster/dataset/imagefile"
)

// ErrImageMissing is wrapped when no file for a photo exists in the folder.
var ErrImageMissing = errors.New("image missing")

// imageExts are the extensions tried, after the one the metadata names.
var imageExts = []string{"jpg", "jpeg", "png", "gif", "webp", "JPG", "JPEG", "PNG"}

// ImageFolder finds the image of a YFCC record in a local folder, laid out
// either flat (<photoid>.jpg) or by hash (<h[0:3]>/<h[3:6]>/<hash>.jpg).
// It is safe for concurrent use.
type ImageFolder struct {
	root string
}

// NewImageFolder checks that root is a readable directory.
func NewImageFolder(root string) (*ImageFolder, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("images folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("images folder %s: not a directory", root)
	}
	return &ImageFolder{root: root}, nil
}

// Candidates lists the paths where the image of a photo may be, most
// likely first: flat by photo id, then by hash (zero-padded to 32 hex
// digits, then without the padding, as some tools print it).
func (f *ImageFolder) Candidates(photoID, hash, ext string) []string {
	exts := imageExts
	if ext != "" && !strings.ContainsAny(ext, `/\.`) {
		exts = append([]string{ext}, imageExts...)
	}
	var names []string
	if photoID != "" && isDigits(photoID) {
		names = append(names, photoID)
	}
	var hashes []string
	if hash != "" && isHex(hash) && len(hash) <= 32 {
		h := strings.ToLower(hash)
		padded := strings.Repeat("0", 32-len(h)) + h
		trimmed := strings.TrimLeft(h, "0")
		hashes = append(hashes, padded)
		if trimmed != padded && len(trimmed) >= 6 {
			hashes = append(hashes, trimmed)
		}
	}
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, e := range exts {
		for _, n := range names {
			add(filepath.Join(f.root, n+"."+e))
		}
	}
	for _, e := range exts {
		for _, h := range hashes {
			add(filepath.Join(f.root, h[0:3], h[3:6], h+"."+e))
		}
	}
	return out
}

// Load finds, decodes, center-crops and resizes the image of a photo into
// dst (res*res*3 bytes, RGB). The error wraps ErrImageMissing or
// imagefile.ErrImageCorrupt and names the file.
func (f *ImageFolder) Load(photoID, hash, ext string, res int, dst []byte) (string, error) {
	for _, p := range f.Candidates(photoID, hash, ext) {
		err := imagefile.Load(p, res, dst)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
			continue
		}
		return p, err
	}
	return "", fmt.Errorf("%w: photo %s (hash %q) in %s", ErrImageMissing, photoID, hash, f.root)
}

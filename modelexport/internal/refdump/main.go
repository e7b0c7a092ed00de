// Command refdump writes what `make check-export` compares a PyTorch load
// of an exported model against: the first --images images of a dataset as
// the exported model takes them (images.npy, n x 3*R*R float32 in [0, 1],
// NCHW rows) and the features our CPU backend extracts for them from the
// run's checkpoint (features.npy, n x hidden), through the trainer's own
// normalisation and extraction path.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset/source"
	"github.com/deepercluster/deepercluster/internal/npy"
	"github.com/deepercluster/deepercluster/trainer"
)

// firstN is a dataset cut to its first n images.
type firstN struct {
	deepercluster.Dataset
	n int
}

func (f firstN) Len() int { return f.n }

func main() {
	ckDir := flag.String("checkpoint", "", "run directory")
	ds := flag.String("dataset", "synthetic", "dataset the run trained on")
	n := flag.Int("images", 64, "how many images")
	out := flag.String("out", "", "directory to write images.npy and features.npy into")
	flag.Parse()
	if err := run(*ckDir, *ds, *n, *out); err != nil {
		fmt.Fprintln(os.Stderr, "refdump:", err)
		os.Exit(1)
	}
}

func run(ckDir, spec string, n int, out string) error {
	be, ck, err := trainer.LoadBackend(ckDir, trainer.LoadOptions{})
	if err != nil {
		return err
	}
	defer be.Close()
	res := ck.Model.Resolution
	d, err := source.Open(spec, source.Options{Resolution: res})
	if err != nil {
		return err
	}
	if d.Resolution() != res {
		return fmt.Errorf("dataset %s is %d px, the checkpoint's model %d px", spec, d.Resolution(), res)
	}
	n = min(n, d.Len())
	feats, err := trainer.ExtractFeatures(context.Background(), be, firstN{d, n}, nil)
	if err != nil {
		return err
	}
	per := 3 * res * res
	raw := make([]byte, per)
	imgs := make([]float32, n*per)
	for i := range n {
		if err := d.Image(i, raw); err != nil {
			return fmt.Errorf("image %d: %w", i, err)
		}
		for p := range res * res {
			for c := range 3 {
				imgs[i*per+c*res*res+p] = float32(raw[p*3+c]) / 255
			}
		}
	}
	if err := npy.Write(filepath.Join(out, "images.npy"), n, per, imgs); err != nil {
		return err
	}
	return npy.Write(filepath.Join(out, "features.npy"), n, be.FeatureDim(), feats)
}

package trainer

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/dataset/synthetic"
)

// failingImage is a real dataset whose image bad cannot be read.
type failingImage struct {
	deepercluster.Dataset
	bad int
}

func (f failingImage) Image(i int, dst []byte) error {
	if i == f.bad {
		return errors.New("unreadable")
	}
	return f.Dataset.Image(i, dst)
}

// TestExtractFeaturesChunks: the images are read on their own goroutine
// a chunk ahead of the network; the features are those of one Extract
// call per image, in the dataset's order, over several chunks and a
// partial last one; a bad image or a cancelled context stops it with an
// error that says which.
func TestExtractFeaturesChunks(t *testing.T) {
	const n = 600 // chunks of 256, 256 and 88
	ds, err := synthetic.New(synthetic.Config{Seed: 2, N: n, Resolution: 16})
	if err != nil {
		t.Fatal(err)
	}
	net, err := NewCPUBackend(BackendConfig{Model: ModelConfig{Resolution: 16, Width: 4, Depth: 2, ConvsPerStage: 1, Hidden: 8}, Batch: 8, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	H := net.FeatureDim()
	per := 3 * 16 * 16
	want := make([]float32, n*H)
	raw, x := make([]byte, per), make([]float32, per)
	for i := range n {
		if err := ds.Image(i, raw); err != nil {
			t.Fatal(err)
		}
		toCHW(x, raw, 16)
		if err := net.Extract(x, 1, want[i*H:(i+1)*H]); err != nil {
			t.Fatal(err)
		}
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name   string
		ctx    context.Context
		ds     deepercluster.Dataset
		naming string // "" : no error
	}{
		{"whole set", context.Background(), ds, ""},
		{"bad image in the last chunk", context.Background(), failingImage{ds, 590}, "image 590: unreadable"},
		{"bad first image", context.Background(), failingImage{ds, 0}, "image 0: unreadable"},
		{"cancelled", cancelled, ds, context.Canceled.Error()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var last float64
			got, err := ExtractFeatures(c.ctx, net, c.ds, func(done float64) { last = done })
			if c.naming != "" {
				if err == nil || !strings.Contains(err.Error(), c.naming) {
					t.Fatalf("error %v, want one naming %q", err, c.naming)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if last != 1 {
				t.Fatalf("last progress %v, want 1", last)
			}
			for i := range n {
				g, w := got[i*H:(i+1)*H], want[i*H:(i+1)*H]
				for j := range g {
					if d := g[j] - w[j]; d > 1e-4 || d < -1e-4 {
						t.Fatalf("image %d: features %v, one at a time %v", i, g, w)
					}
				}
			}
			if slices.Equal(got[:H], got[H:2*H]) {
				t.Fatal("images 0 and 1 have the same features")
			}
		})
	}
}

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx"
	"github.com/nlpodyssey/safetensors"
	"gorgonia.org/tensor"

	"github.com/deepercluster/deepercluster/dataset/synthetic"
	"github.com/deepercluster/deepercluster/trainer"
)

// TestExportModel trains a tiny run, exports it with export-model in both
// formats (the format from the flag and from --out's extension), runs the
// ONNX file with gonnx against the features the run's own checkpoint
// extracts, reads the safetensors file with an independent reader, and
// holds bad command lines to one clear error that writes nothing.
func TestExportModel(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	a, _, errb := testApp()
	if err := runTrain(context.Background(), a, []string{"--dataset", "synthetic", "--n", "64", "--size", "16", "--out", run,
		"--epochs", "1", "--m", "2", "--k", "2", "--width", "4", "--hidden", "8", "--pca-dim", "4"}); err != nil {
		t.Fatalf("train: %v\n%s", err, errb)
	}
	export := func(args ...string) (string, error) {
		a, out, _ := testApp()
		err := runExportModel(context.Background(), a, args)
		return out.String(), err
	}
	onnxPath := filepath.Join(dir, "model.onnx")
	out, err := export("--checkpoint", run, "--out", onnxPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "(onnx): input images (N, 3, 16, 16)") || !strings.Contains(out, "features (N, 8)") {
		t.Errorf("stdout %q: want the format and the input and output shapes", out)
	}
	// the checkpoint's own features of two synthetic images
	be, ck, err := trainer.LoadBackend(run, trainer.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	ds, err := synthetic.New(synthetic.Config{Seed: 1, N: 2, Resolution: 16})
	if err != nil {
		t.Fatal(err)
	}
	want, err := trainer.ExtractFeatures(context.Background(), be, ds, nil)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 2*3*16*16)
	raw := make([]byte, 3*16*16)
	for i := range 2 {
		if err := ds.Image(i, raw); err != nil {
			t.Fatal(err)
		}
		for p := range 16 * 16 {
			for c := range 3 {
				x[i*3*256+c*256+p] = float32(raw[p*3+c]) / 255
			}
		}
	}
	m, err := gonnx.NewModelFromFile(onnxPath)
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Run(gonnx.Tensors{"images": tensor.New(tensor.WithShape(2, 3, 16, 16), tensor.WithBacking(x))})
	if err != nil {
		t.Fatal(err)
	}
	got := res["features"].Data().([]float32)
	for i := range 2 {
		scale := float32(0)
		for _, v := range want[i*8 : (i+1)*8] {
			scale = max(scale, v, -v)
		}
		for j := i * 8; j < (i+1)*8; j++ {
			if d := got[j] - want[j]; d > 1e-4*scale || d < -1e-4*scale {
				t.Fatalf("image %d: gonnx features %v, the checkpoint's %v", i, got[i*8:(i+1)*8], want[i*8:(i+1)*8])
			}
		}
	}
	stPath := filepath.Join(dir, "weights.bin")
	if _, err := export("--checkpoint", run, "--format", "safetensors", "--heads", "--out", stPath); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(stPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := safetensors.Deserialize(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Tensor("head_super.weight"); !ok || ck.HeadS != 8 {
		t.Errorf("--heads: no head_super.weight among %v (checkpoint heads %dx%d)", st.Names(), ck.HeadS, ck.HeadK)
	}

	empty := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no checkpoint flag", []string{"--out", filepath.Join(dir, "x.onnx")}, "--checkpoint DIR is required"},
		{"no out", []string{"--checkpoint", run}, "--out FILE is required"},
		{"bad format", []string{"--checkpoint", run, "--format", "pt", "--out", filepath.Join(dir, "x.pt")}, `--format must be safetensors or onnx, got "pt"`},
		{"unknown extension", []string{"--checkpoint", run, "--out", filepath.Join(dir, "x.bin")}, `--format must be safetensors or onnx, got "bin"`},
		{"not a run", []string{"--checkpoint", filepath.Join(dir, "nope"), "--out", filepath.Join(dir, "x.onnx")}, "not a run directory"},
		{"no checkpoint yet", []string{"--checkpoint", empty, "--out", filepath.Join(dir, "x.onnx")}, "no checkpoint"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := export(c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Count(err.Error(), "\n") > 0 {
				t.Fatalf("got %v, want one line containing %q", err, c.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "x.onnx")); err == nil {
				t.Fatalf("a failed export wrote x.onnx")
			}
		})
	}
}

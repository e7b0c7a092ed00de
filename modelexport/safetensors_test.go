package modelexport_test

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"

	"github.com/deepercluster/deepercluster/modelexport"
	"github.com/deepercluster/deepercluster/modelexport/internal/exporttest"
	"github.com/deepercluster/deepercluster/trainer"
)

// TestSafetensorsReadBack writes a trained network with its heads and reads
// the file back with github.com/nlpodyssey/safetensors (a Go port of the
// reference reader, which validates the header, offsets and sizes): the
// names are those of scripts/deepercluster_model.py's state_dict, every
// tensor holds the checkpoint's values in PyTorch's layout, and the
// metadata gives the model's shape.
func TestSafetensorsReadBack(t *testing.T) {
	cfg := trainer.ModelConfig{Resolution: 16, Width: 4, Depth: 2, ConvsPerStage: 2, Hidden: 12, Sobel: true}
	tr := exporttest.Train(t, cfg, 8, 3, 3, 1)
	net, err := modelexport.FromCheckpoint(tr.Checkpoint, true)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := modelexport.WriteSafetensors(path, net); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if hl := binary.LittleEndian.Uint64(data); (8+hl)%8 != 0 {
		t.Errorf("header of %d bytes: data not 8-byte aligned", hl)
	}
	st, err := safetensors.Deserialize(data)
	if err != nil {
		t.Fatalf("nlpodyssey/safetensors: %v", err)
	}
	want := []string{"sobel.weight"}
	for _, c := range []string{"conv1_1", "conv1_2", "conv2_1", "conv2_2"} {
		want = append(want, c+".conv.weight", c+".bn.weight", c+".bn.bias", c+".bn.running_mean", c+".bn.running_var", c+".bn.num_batches_tracked")
	}
	want = append(want, "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "head_super.weight", "head_super.bias", "head_sub.weight", "head_sub.bias")
	got := st.Names()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("names:\n got %v\nwant %v", got, want)
	}
	ck := tr.Checkpoint.State()
	f32 := func(name string) ([]float32, []uint64) {
		v, ok := st.Tensor(name)
		if !ok || v.DType().String() != "F32" {
			t.Fatalf("%s: missing or not F32", name)
		}
		raw := v.Data()
		out := make([]float32, len(raw)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return out, v.Shape()
	}
	flat := 8 * 4 * 4
	for _, c := range []struct {
		name, ckName string
		shape        []uint64
		at           func(i, j int) int // index in the checkpoint's tensor of element (i, j) of a 2-D export
	}{
		{"conv2_1.conv.weight", "conv2_1.weight", []uint64{8, 4, 3, 3}, nil},
		{"conv1_2.bn.running_var", "conv1_2.bn.running_var", []uint64{4}, nil},
		{"conv2_2.bn.bias", "conv2_2.bn.bias", []uint64{8}, nil},
		{"fc1.bias", "fc1.bias", []uint64{12}, nil},
		{"fc1.weight", "fc1.weight", []uint64{12, uint64(flat)}, func(i, j int) int { return j*12 + i }},
		{"head_super.weight", "head/V", []uint64{8, 12}, func(i, j int) int { return j*8 + i }},
		{"head_sub.weight", "head/W", []uint64{8, 12, 3}, nil},
		{"head_sub.bias", "head/W.bias", []uint64{8, 3}, nil},
	} {
		got, shape := f32(c.name)
		if !slices.Equal(shape, c.shape) {
			t.Errorf("%s: shape %v, want %v", c.name, shape, c.shape)
			continue
		}
		src := ck.Tensor(c.ckName).Data
		for i := range got {
			k := i
			if c.at != nil {
				k = c.at(i/int(shape[1]), i%int(shape[1]))
			}
			if got[i] != src[k] {
				t.Fatalf("%s[%d] = %v, checkpoint's %s[%d] = %v", c.name, i, got[i], c.ckName, k, src[k])
			}
		}
	}
	if sob, _ := f32("sobel.weight"); !slices.Equal(sob, trainer.SobelWeights()) {
		t.Errorf("sobel.weight is not trainer.SobelWeights")
	}
	if v, ok := st.Tensor("conv1_1.bn.num_batches_tracked"); !ok || v.DType().String() != "I64" || len(v.Shape()) != 0 ||
		binary.LittleEndian.Uint64(v.Data()) != 3 {
		t.Errorf("num_batches_tracked: want an I64 scalar holding the 3 steps trained")
	}
	_, meta, err := safetensors.ReadMetadata(data)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"format": "pt", "resolution": "16", "width": "4", "depth": "2", "convs_per_stage": "2",
		"hidden": "12", "sobel": "true", "head_s": "8", "head_k": "3"} {
		if g := meta.Metadata()[k]; g != v {
			t.Errorf("metadata %s = %q, want %q", k, g, v)
		}
	}
}

// TestFromCheckpointRejects: a checkpoint that does not fit its model, or
// heads asked of a checkpoint that has none, get one error naming the
// tensor or the flag.
func TestFromCheckpointRejects(t *testing.T) {
	cfg := trainer.ModelConfig{Resolution: 16, Width: 4, Depth: 2, ConvsPerStage: 1, Hidden: 12}
	trunk, err := trainer.InitTrunk(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		edit  func(ck *trainer.Checkpoint)
		heads bool
		want  string
	}{
		{"no heads yet", func(*trainer.Checkpoint) {}, true, "--heads: the checkpoint has no classifier heads"},
		{"missing tensor", func(ck *trainer.Checkpoint) { ck.Tensors = ck.Tensors[1:] }, false, `"conv1_1.weight" missing`},
		{"wrong shape", func(ck *trainer.Checkpoint) {
			for i := range ck.Tensors {
				if ck.Tensors[i].Name == "fc1.weight" {
					ck.Tensors[i].Data = ck.Tensors[i].Data[1:]
				}
			}
		}, false, `tensor "fc1.weight"`},
		{"bad model", func(ck *trainer.Checkpoint) { ck.Model.Width = 0 }, false, "width must be"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ck := &trainer.Checkpoint{Model: cfg, Tensors: slices.Clone(trunk)}
			c.edit(ck)
			_, err := modelexport.FromCheckpoint(ck, c.heads)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

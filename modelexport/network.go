// Package modelexport takes a trained network out of our checkpoint format
// into the formats other tools load: safetensors (this package, no
// dependency beyond the standard library) under the parameter names of the
// plain PyTorch module scripts/deepercluster_model.py, and ONNX
// (modelexport/onnxmodel, which pays for the protobuf binding). The command
// is `deepercluster export-model`; docs/ARCHITECTURE.md has the map.
//
// The exported network takes what a PyTorch user has at hand: NCHW float32
// RGB images in [0, 1] (torchvision's ToTensor), resized to the model's
// resolution, and normalises them itself with InputMean and InputStd,
// exactly as the trainer normalises bytes. Its output is the feature we
// cluster: the last fc layer before its ReLU.
package modelexport

import (
	"fmt"
	"strconv"

	"github.com/deepercluster/deepercluster/trainer"
)

// InputMean and InputStd are the normalisation the exported models apply
// to their [0, 1] input, (x - InputMean) / InputStd per channel: the
// trainer's byte normalisation (b/255 - 0.5) / 0.25 written for [0, 1].
const (
	InputMean = 0.5
	InputStd  = 0.25
)

// BNEps is the epsilon of every BatchNorm layer of the trunk (the trainer's
// and PyTorch's default).
const BNEps = 1e-5

// Tensor is one named tensor in PyTorch's layout: row-major, named as the
// parameter or buffer of scripts/deepercluster_model.py it loads into.
// Exactly one of F32 and I64 holds the data.
type Tensor struct {
	Name  string
	Shape []int
	F32   []float32
	I64   []int64
}

// Len is the number of elements of the shape (1 for a scalar).
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Network is a trained network ready to be written: its shape and its
// tensors under PyTorch names, trunk first (the order of the module's
// state_dict), then the heads when they were asked for.
type Network struct {
	Model trainer.ModelConfig
	// HeadS and HeadK size the exported heads (super-classes, and
	// sub-classes per super-class): head_super exists when HeadS > 1,
	// head_sub when HeadK > 1; both 0 without --heads.
	HeadS, HeadK int
	Tensors      []Tensor
}

// Tensor returns the tensor named name, or nil.
func (n *Network) Tensor(name string) *Tensor {
	for i := range n.Tensors {
		if n.Tensors[i].Name == name {
			return &n.Tensors[i]
		}
	}
	return nil
}

// ConvNames lists the trunk's convolutions in order ("conv1_1", ...) and,
// for each, whether a 2x2 max-pool follows it.
func ConvNames(cfg trainer.ModelConfig) (names []string, pool []bool) {
	for s := range cfg.Depth {
		for c := range cfg.ConvsPerStage {
			names = append(names, fmt.Sprintf("conv%d_%d", s+1, c+1))
			pool = append(pool, c == cfg.ConvsPerStage-1)
		}
	}
	return names, pool
}

// Metadata is the network's shape as string pairs (safetensors'
// __metadata__, ONNX's metadata_props): what DeeperClusterNet's
// constructor takes, so that `deepercluster_model.load` builds the module
// from the file alone.
func (n *Network) Metadata() map[string]string {
	c := n.Model
	return map[string]string{
		"format":          "pt",
		"producer":        "deepercluster",
		"resolution":      strconv.Itoa(c.Resolution),
		"width":           strconv.Itoa(c.Width),
		"depth":           strconv.Itoa(c.Depth),
		"convs_per_stage": strconv.Itoa(c.ConvsPerStage),
		"hidden":          strconv.Itoa(c.Hidden),
		"sobel":           strconv.FormatBool(c.Sobel),
		"head_s":          strconv.Itoa(n.HeadS),
		"head_k":          strconv.Itoa(n.HeadK),
		"input":           fmt.Sprintf("NCHW float32 RGB in [0,1], %dx%d; normalised inside: (x - %g) / %g", c.Resolution, c.Resolution, InputMean, InputStd),
		"output":          fmt.Sprintf("features (N, %d): fc2 before its ReLU", c.Hidden),
	}
}

// Load reads the checkpoint of the run directory dir and converts it
// (FromCheckpoint).
func Load(dir string, heads bool) (*Network, error) {
	ck, err := trainer.LoadCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	n, err := FromCheckpoint(ck, heads)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", dir, err)
	}
	return n, nil
}

// FromCheckpoint converts a checkpoint's trunk (and, when heads, its
// classifier heads) to PyTorch names and layouts: a convolution with its
// BatchNorm becomes convS_C.conv and convS_C.bn (with the
// num_batches_tracked buffer PyTorch's state_dict holds), the fc layers'
// (in, out) weights become nn.Linear's (out, in), head/V becomes
// head_super (nn.Linear) and head/W the (S, hidden, K) head_sub.weight.
// Optimizer state is left behind. It checks every tensor's shape, naming
// the first that does not fit the checkpoint's model.
func FromCheckpoint(ck *trainer.Checkpoint, heads bool) (*Network, error) {
	cfg := ck.Model
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st := ck.State()
	get := func(name string, shape ...int) ([]float32, error) {
		t := st.Tensor(name)
		if t == nil {
			return nil, fmt.Errorf("tensor %q missing", name)
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		if len(t.Data) != n {
			return nil, fmt.Errorf("tensor %q: shape %v (%d values), the model wants %v", name, t.Shape, len(t.Data), shape)
		}
		return t.Data, nil
	}
	net := &Network{Model: cfg}
	add := func(name string, data []float32, shape ...int) {
		net.Tensors = append(net.Tensors, Tensor{Name: name, Shape: shape, F32: data})
	}
	in := 3
	if cfg.Sobel {
		add("sobel.weight", trainer.SobelWeights(), 2, 3, 3, 3)
		in = 2
	}
	names, pool := ConvNames(cfg)
	ch, side := cfg.Width, cfg.Resolution
	for i, name := range names {
		w, err := get(name+".weight", ch, in, 3, 3)
		if err != nil {
			return nil, err
		}
		add(name+".conv.weight", w, ch, in, 3, 3)
		for _, p := range []string{"weight", "bias", "running_mean", "running_var"} {
			d, err := get(name+".bn."+p, ch)
			if err != nil {
				return nil, err
			}
			add(name+".bn."+p, d, ch)
		}
		net.Tensors = append(net.Tensors, Tensor{Name: name + ".bn.num_batches_tracked", Shape: []int{}, I64: []int64{int64(ck.TotalSteps)}})
		in = ch
		if pool[i] {
			ch *= 2
			side /= 2
		}
	}
	flat := in * side * side
	for _, fc := range []struct {
		name    string
		in, out int
	}{{"fc1", flat, cfg.Hidden}, {"fc2", cfg.Hidden, cfg.Hidden}} {
		w, err := get(fc.name+".weight", fc.in, fc.out)
		if err != nil {
			return nil, err
		}
		add(fc.name+".weight", transpose(w, fc.in, fc.out), fc.out, fc.in)
		b, err := get(fc.name+".bias", fc.out)
		if err != nil {
			return nil, err
		}
		add(fc.name+".bias", b, fc.out)
	}
	if !heads {
		return net, nil
	}
	s, k, h := ck.HeadS, ck.HeadK, cfg.Hidden
	if s < 1 || (s == 1 && k <= 1) {
		return nil, fmt.Errorf("--heads: the checkpoint has no classifier heads yet (they are made at the first clustering)")
	}
	net.HeadS, net.HeadK = s, k
	if s > 1 {
		v, err := get("head/V", h, s)
		if err != nil {
			return nil, err
		}
		add("head_super.weight", transpose(v, h, s), s, h)
		b, err := get("head/V.bias", s)
		if err != nil {
			return nil, err
		}
		add("head_super.bias", b, s)
	}
	if k > 1 {
		w, err := get("head/W", s, h*k)
		if err != nil {
			return nil, err
		}
		add("head_sub.weight", w, s, h, k)
		b, err := get("head/W.bias", s, k)
		if err != nil {
			return nil, err
		}
		add("head_sub.bias", b, s, k)
	}
	return net, nil
}

// transpose returns the (c, r) transpose of the row-major (r, c) matrix m.
func transpose(m []float32, r, c int) []float32 {
	out := make([]float32, len(m))
	for i := range r {
		for j := range c {
			out[j*r+i] = m[i*c+j]
		}
	}
	return out
}

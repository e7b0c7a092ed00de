// Package onnxmodel writes a trained network (modelexport.Network) as an
// ONNX model: opset 13, eval mode, input "images" (N, 3, R, R) float32 RGB
// in [0, 1] with a dynamic batch N, output "features" (N, hidden), the
// last fc layer before its ReLU. The protobuf messages are those of
// onnx.proto as generated in github.com/advancedclimatesystems/gonnx/onnx
// (protoc-gen-go types, encoded by google.golang.org/protobuf); this
// package only fills them in. It lives apart from modelexport so that the
// protobuf binding is paid only by what writes ONNX.
//
// The graph keeps to the operators every opset-13 runtime has, down to
// small pure-Go ones (gonnx has neither BatchNormalization nor MaxPool):
// each BatchNorm is folded into its convolution's weights and bias (eval
// mode), and each 2x2 max-pool is four strided Slices combined by
// max(a, b) = Relu(a - b) + b.
package onnxmodel

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/deepercluster/deepercluster/internal/atomicfile"
	"github.com/deepercluster/deepercluster/modelexport"
)

// Opset is the ONNX operator set the graph is written for.
const Opset = 13

// irVersion is the ONNX IR version that goes with opset 13 (ONNX 1.8).
const irVersion = 7

// Names of the graph's input and outputs.
const (
	InputName    = "images"
	FeaturesName = "features"
	// SuperLogitsName (N, S) and SubLogitsName (N, S, K) are the heads'
	// outputs on ReLU(features) when the network has them: the
	// super-class logits, and the sub-class logits under every
	// super-class (training uses the row of the sample's own).
	SuperLogitsName = "super_logits"
	SubLogitsName   = "sub_logits"
)

// builder accumulates the graph's nodes and initializers.
type builder struct {
	g    *onnx.GraphProto
	next int
}

func (b *builder) name(prefix string) string {
	b.next++
	return fmt.Sprintf("%s_%d", prefix, b.next)
}

// floats adds a float32 initializer.
func (b *builder) floats(name string, data []float32, dims ...int) string {
	raw := make([]byte, 0, 4*len(data))
	for _, v := range data {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	b.g.Initializer = append(b.g.Initializer, &onnx.TensorProto{
		Name: name, Dims: int64s(dims), DataType: int32(onnx.TensorProto_FLOAT), RawData: raw,
	})
	return name
}

// ints adds a 1-D int64 initializer.
func (b *builder) ints(name string, data ...int64) string {
	b.g.Initializer = append(b.g.Initializer, &onnx.TensorProto{
		Name: name, Dims: []int64{int64(len(data))}, DataType: int32(onnx.TensorProto_INT64), Int64Data: data,
	})
	return name
}

// node adds a node and returns its (first) output.
func (b *builder) node(op string, inputs []string, attrs ...*onnx.AttributeProto) string {
	out := b.name(op)
	b.g.Node = append(b.g.Node, &onnx.NodeProto{Name: out, OpType: op, Input: inputs, Output: []string{out}, Attribute: attrs})
	return out
}

func intsAttr(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INTS, Ints: v}
}

func intAttr(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INT, I: v}
}

func int64s(d []int) []int64 {
	out := make([]int64, len(d))
	for i, v := range d {
		out[i] = int64(v)
	}
	return out
}

// valueInfo is a float32 tensor of shape (N, dims...) with N dynamic.
func valueInfo(name string, dims ...int) *onnx.ValueInfoProto {
	shape := []*onnx.TensorShapeProto_Dimension{{Value: &onnx.TensorShapeProto_Dimension_DimParam{DimParam: "N"}}}
	for _, d := range dims {
		shape = append(shape, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
	}
	return &onnx.ValueInfoProto{Name: name, Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: &onnx.TypeProto_Tensor{
		ElemType: int32(onnx.TensorProto_FLOAT), Shape: &onnx.TensorShapeProto{Dim: shape},
	}}}}
}

// conv adds a 3x3, stride 1, pad 1 convolution, and its bias (optional)
// as an Add of a (1, C, 1, 1) tensor rather than Conv's third input:
// gonnx v1.1.0 reshapes a Conv bias in place, so that a model with one
// runs only once.
func (b *builder) conv(x string, w []float32, bias []float32, cout, cin int, prefix string) string {
	y := b.node("Conv", []string{x, b.floats(prefix+".weight", w, cout, cin, 3, 3)},
		intsAttr("kernel_shape", 3, 3), intsAttr("pads", 1, 1, 1, 1), intsAttr("strides", 1, 1))
	if bias == nil {
		return y
	}
	return b.node("Add", []string{y, b.floats(prefix+".bias", bias, 1, cout, 1, 1)})
}

// max adds max(x, y) = Relu(x - y) + y.
func (b *builder) max(x, y string) string {
	return b.node("Add", []string{b.node("Relu", []string{b.node("Sub", []string{x, y})}), y})
}

// pool adds a 2x2, stride 2 max-pool of an (N, C, side, side) tensor (an
// odd last row and column dropped, as floor mode does).
func (b *builder) pool(x string, side int) string {
	end := int64(side / 2 * 2)
	ends := b.ints(b.name("pool_ends"), end, end)
	axes := b.ints(b.name("pool_axes"), 2, 3)
	steps := b.ints(b.name("pool_steps"), 2, 2)
	var q [4]string
	for i, st := range [4][2]int64{{0, 0}, {0, 1}, {1, 0}, {1, 1}} {
		starts := b.ints(b.name("pool_starts"), st[0], st[1])
		q[i] = b.node("Slice", []string{x, starts, ends, axes, steps})
	}
	return b.max(b.max(q[0], q[1]), b.max(q[2], q[3]))
}

// Build returns the network as an ONNX model.
func Build(n *modelexport.Network) (*onnx.ModelProto, error) {
	cfg := n.Model
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &builder{g: &onnx.GraphProto{Name: "deepercluster"}}
	tensor := func(name string) ([]float32, error) {
		t := n.Tensor(name)
		if t == nil || t.F32 == nil {
			return nil, fmt.Errorf("onnx: network has no float tensor %q", name)
		}
		return t.F32, nil
	}
	res := cfg.Resolution
	mean := make([]float32, 3)
	std := make([]float32, 3)
	for c := range 3 {
		mean[c], std[c] = modelexport.InputMean, modelexport.InputStd
	}
	x := b.node("Sub", []string{InputName, b.floats("input_mean", mean, 1, 3, 1, 1)})
	x = b.node("Div", []string{x, b.floats("input_std", std, 1, 3, 1, 1)})
	in := 3
	if cfg.Sobel {
		w, err := tensor("sobel.weight")
		if err != nil {
			return nil, err
		}
		x = b.conv(x, w, nil, 2, 3, "sobel")
		in = 2
	}
	names, pool := modelexport.ConvNames(cfg)
	ch, side := cfg.Width, res
	for i, name := range names {
		var p [5][]float32
		for j, s := range []string{".conv.weight", ".bn.weight", ".bn.bias", ".bn.running_mean", ".bn.running_var"} {
			d, err := tensor(name + s)
			if err != nil {
				return nil, err
			}
			p[j] = d
		}
		w, gam, bet, mu, vr := p[0], p[1], p[2], p[3], p[4]
		if len(w) != ch*in*9 || len(gam) != ch {
			return nil, fmt.Errorf("onnx: %s: %d weights and %d BatchNorm channels, the model wants (%d, %d, 3, 3)", name, len(w), len(gam), ch, in)
		}
		// eval-mode BatchNorm folded: gamma*(conv(x)-mean)/sqrt(var+eps)+beta
		fw := make([]float32, len(w))
		fb := make([]float32, ch)
		for co := range ch {
			s := float32(float64(gam[co]) / math.Sqrt(float64(vr[co])+modelexport.BNEps))
			for k := range in * 9 {
				fw[co*in*9+k] = w[co*in*9+k] * s
			}
			fb[co] = bet[co] - mu[co]*s
		}
		x = b.node("Relu", []string{b.conv(x, fw, fb, ch, in, name)})
		in = ch
		if pool[i] {
			x = b.pool(x, side)
			side /= 2
			ch *= 2
		}
	}
	x = b.node("Flatten", []string{x}, intAttr("axis", 1))
	h := cfg.Hidden
	for _, fc := range []string{"fc1", "fc2"} {
		w, err := tensor(fc + ".weight")
		if err != nil {
			return nil, err
		}
		bias, err := tensor(fc + ".bias")
		if err != nil {
			return nil, err
		}
		cin := len(w) / h
		x = b.node("Gemm", []string{x, b.floats(fc+".weight", w, h, cin), b.floats(fc+".bias", bias, h)}, intAttr("transB", 1))
		if fc == "fc1" {
			x = b.node("Relu", []string{x})
		}
	}
	// the last node writes the graph's output under its public name
	b.g.Node[len(b.g.Node)-1].Output[0] = FeaturesName
	b.g.Input = []*onnx.ValueInfoProto{valueInfo(InputName, 3, res, res)}
	b.g.Output = []*onnx.ValueInfoProto{valueInfo(FeaturesName, h)}
	if err := b.heads(n); err != nil {
		return nil, err
	}
	m := &onnx.ModelProto{
		IrVersion:    irVersion,
		OpsetImport:  []*onnx.OperatorSetIdProto{{Domain: "", Version: Opset}},
		ProducerName: "deepercluster",
		Domain:       "io.github.deepercluster",
		DocString: fmt.Sprintf("DeeperCluster trunk: input %q (N, 3, %d, %d) float32 RGB in [0, 1], normalised inside as (x - %g) / %g; output %q (N, %d), the last fc layer before its ReLU.",
			InputName, res, res, modelexport.InputMean, modelexport.InputStd, FeaturesName, h),
		Graph: b.g,
	}
	meta := n.Metadata()
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.MetadataProps = append(m.MetadataProps, &onnx.StringStringEntryProto{Key: k, Value: meta[k]})
	}
	return m, nil
}

// heads adds the classifier heads' outputs on ReLU(features) when the
// network carries them.
func (b *builder) heads(n *modelexport.Network) error {
	sup, sub := n.Tensor("head_super.weight"), n.Tensor("head_sub.weight")
	if sup == nil && sub == nil {
		return nil
	}
	h := n.Model.Hidden
	relu := b.node("Relu", []string{FeaturesName})
	if sup != nil {
		bias := n.Tensor("head_super.bias")
		if bias == nil {
			return fmt.Errorf("onnx: head_super.bias missing")
		}
		s := sup.Shape[0]
		b.node("Gemm", []string{relu, b.floats("head_super.weight", sup.F32, s, h), b.floats("head_super.bias", bias.F32, s)}, intAttr("transB", 1))
		b.g.Node[len(b.g.Node)-1].Output[0] = SuperLogitsName
		b.g.Output = append(b.g.Output, valueInfo(SuperLogitsName, s))
	}
	if sub != nil {
		bias := n.Tensor("head_sub.bias")
		if bias == nil {
			return fmt.Errorf("onnx: head_sub.bias missing")
		}
		s, k := sub.Shape[0], sub.Shape[2]
		// (S, H, K) -> (H, S*K): one product gives every super-class's
		// sub-class logits
		w := make([]float32, len(sub.F32))
		for si := range s {
			for j := range h {
				copy(w[j*s*k+si*k:j*s*k+(si+1)*k], sub.F32[(si*h+j)*k:(si*h+j+1)*k])
			}
		}
		y := b.node("Gemm", []string{relu, b.floats("head_sub.weight", w, h, s*k), b.floats("head_sub.bias", bias.F32, s*k)})
		b.node("Reshape", []string{y, b.ints("sub_logits_shape", -1, int64(s), int64(k))})
		b.g.Node[len(b.g.Node)-1].Output[0] = SubLogitsName
		b.g.Output = append(b.g.Output, valueInfo(SubLogitsName, s, k))
	}
	return nil
}

// Encode returns the network as the bytes of an .onnx file.
func Encode(n *modelexport.Network) ([]byte, error) {
	m, err := Build(n)
	if err != nil {
		return nil, err
	}
	data, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("onnx: encode: %w", err)
	}
	return data, nil
}

// Write writes the network to path as ONNX, atomically.
func Write(path string, n *modelexport.Network) error {
	data, err := Encode(n)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

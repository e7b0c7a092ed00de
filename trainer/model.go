package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/deepercluster/deepercluster"
)

// ModelConfig is the shape of the convnet. The network is VGG-style:
// Depth stages of ConvsPerStage 3x3 convolutions (BatchNorm, ReLU) each
// followed by a 2x2 max-pool, channels Width, 2*Width, 4*Width, ...; then
// two fully connected layers of Hidden units (with bias). The feature used for
// clustering is the output of the last fc layer before its ReLU, as in the
// method's paper (docs/ARCHITECTURE.md, "The method").
type ModelConfig struct {
	Resolution    int  `json:"resolution"`
	Width         int  `json:"width"`
	Depth         int  `json:"depth"`
	ConvsPerStage int  `json:"convs_per_stage"`
	Hidden        int  `json:"hidden"`
	Sobel         bool `json:"sobel"`
}

// DefaultModelConfig is a small VGG that trains at a useful speed on a
// 2-core CPU at 28-96 px. Its depth adapts to the resolution
// (DefaultDepth): three pooling stages up to 64 px, four above, so that
// the last feature map stays at most 8x8 and the first fc layer small.
func DefaultModelConfig(res int) ModelConfig {
	return ModelConfig{Resolution: res, Width: 16, Depth: DefaultDepth(res), ConvsPerStage: 2, Hidden: 128}
}

// DefaultDepth is the number of conv stages (each ending in a 2x2
// max-pool) for images of side res: 3 up to 64 px (a 64 px image ends as
// 8x8, 32 px as 4x4), 4 above (96 px ends as 6x6).
func DefaultDepth(res int) int {
	if res > 64 {
		return 4
	}
	return 3
}

// Validate names the first bad field.
func (c ModelConfig) Validate() error {
	switch {
	case c.Resolution < 8 || c.Resolution > deepercluster.MaxResolution:
		return fmt.Errorf("model: resolution must be in [8, %d], got %d", deepercluster.MaxResolution, c.Resolution)
	case c.Width < 1 || c.Width > 256:
		return fmt.Errorf("model: width must be in [1, 256], got %d", c.Width)
	case c.Depth < 1 || c.Depth > 5:
		return fmt.Errorf("model: depth must be in [1, 5], got %d", c.Depth)
	case c.ConvsPerStage < 1 || c.ConvsPerStage > 4:
		return fmt.Errorf("model: convs per stage must be in [1, 4], got %d", c.ConvsPerStage)
	case c.Hidden < 2 || c.Hidden > 8192:
		return fmt.Errorf("model: hidden must be in [2, 8192], got %d", c.Hidden)
	}
	if c.Resolution>>c.Depth < 1 {
		return fmt.Errorf("model: depth %d pools a %d px image to nothing", c.Depth, c.Resolution)
	}
	return nil
}

// inChannels is what the first convolution sees: 2 Sobel maps or RGB.
func (c ModelConfig) inChannels() int {
	if c.Sobel {
		return 2
	}
	return 3
}

// flatSize is the length of the flattened output of the last stage.
func (c ModelConfig) flatSize() int {
	side := c.Resolution
	for range c.Depth {
		side /= 2
	}
	return side * side * c.Width << (c.Depth - 1)
}

// InitTrunk draws the trunk's initial state from seed, in the
// device-neutral form of State: He-normal convolutions (fan out, as
// torchvision's VGG), BatchNorm scale 1 and bias 0, running mean 0 and
// variance 1, fc layers from a fan-in scaled normal and zero biases. Every
// backend starts from it, so a seed means the same network everywhere.
func InitTrunk(cfg ModelConfig, seed uint64) ([]TensorRecord, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	var ts, stats []TensorRecord
	in := cfg.inChannels()
	ch := cfg.Width
	for s := range cfg.Depth {
		for c := range cfg.ConvsPerStage {
			name := fmt.Sprintf("conv%d_%d", s+1, c+1)
			w := newRecord(name+".weight", ch, in, 3, 3)
			fillNormal(w.Data, math.Sqrt(2/float64(9*ch)), rng)
			g := newRecord(name+".bn.weight", 1, ch, 1, 1)
			fill(g.Data, 1)
			ts = append(ts, w, g, newRecord(name+".bn.bias", 1, ch, 1, 1))
			vr := newRecord(name+".bn.running_var", ch)
			fill(vr.Data, 1)
			stats = append(stats, newRecord(name+".bn.running_mean", ch), vr)
			in = ch
		}
		ch *= 2
	}
	fc1 := newRecord("fc1.weight", cfg.flatSize(), cfg.Hidden)
	fc2 := newRecord("fc2.weight", cfg.Hidden, cfg.Hidden)
	// Departure: the reference draws fc weights from N(0, 0.01), sized for
	// 4096-wide layers; on our narrow layers that starves the heads of
	// signal, so we use a fan-in scaled normal (std 1/sqrt(fan_in)).
	fillNormal(fc1.Data, 1/math.Sqrt(float64(cfg.flatSize())), rng)
	fillNormal(fc2.Data, 1/math.Sqrt(float64(cfg.Hidden)), rng)
	ts = append(ts, fc1, newRecord("fc1.bias", 1, cfg.Hidden), fc2, newRecord("fc2.bias", 1, cfg.Hidden))
	return append(ts, stats...), nil
}

// InitHeads draws fresh classifier heads for s super-classes and k
// sub-classes: N(0, 0.01) weights and zero biases, as the reference code
// initialises its linear layers. V, (hidden, s), exists when s > 1; the s
// sub-heads W_s, stacked as (s, hidden*k), exist when k > 1.
func InitHeads(s, k, hidden int, rng *rand.Rand) []TensorRecord {
	var ts []TensorRecord
	if s > 1 {
		v := newRecord("head/V", hidden, s)
		fillNormal(v.Data, 0.01, rng)
		ts = append(ts, v, newRecord("head/V.bias", 1, s))
	}
	if k > 1 {
		w := newRecord("head/W", s, hidden*k)
		fillNormal(w.Data, 0.01, rng)
		ts = append(ts, w, newRecord("head/W.bias", s, k))
	}
	return ts
}

// SobelWeights is the fixed front end as one (2, 3, 3, 3) convolution:
// grayscale (the channel mean, as the reference) folded into the two 3x3
// Sobel filters.
func SobelWeights() []float32 {
	gx := [9]float32{1, 0, -1, 2, 0, -2, 1, 0, -1}
	gy := [9]float32{1, 2, 1, 0, 0, 0, -1, -2, -1}
	d := make([]float32, 2*3*9)
	for c := range 3 {
		for i := range 9 {
			d[0*27+c*9+i] = gx[i] / 3
			d[1*27+c*9+i] = gy[i] / 3
		}
	}
	return d
}

func newRecord(name string, shape ...int) TensorRecord {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return TensorRecord{Name: name, Shape: shape, Data: make([]float32, n)}
}

func fill(d []float32, v float32) {
	for i := range d {
		d[i] = v
	}
}

func fillNormal(d []float32, std float64, rng *rand.Rand) {
	for i := range d {
		d[i] = float32(rng.NormFloat64() * std)
	}
}

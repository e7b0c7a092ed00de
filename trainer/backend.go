package trainer

import "math/rand/v2"

// Backend is the compute seam between the training loop and a model
// implementation. Run talks to its model only through it, so another
// implementation (a GPU, say) plugs in without touching the loop: see
// docs/ARCHITECTURE.md, "Where to add a compute backend". A Backend owns no
// training policy (sampling, schedule, reclustering, checkpoint files); it
// owns the weights, the optimizer state and the normalisation statistics,
// wherever they live, and exports them as a State on request.
//
// The CPU backend (gorgonia plus our own kernels, the cpu_*.go files) is
// made by NewCPUBackend. A Backend is used from one goroutine at a time.
type Backend interface {
	// BatchSize is the fixed training batch.
	BatchSize() int
	// FeatureDim is the length of a feature vector.
	FeatureDim() int
	// SetHeads replaces the classifier heads by fresh ones for s
	// super-classes and k sub-classes, drawn from rng by InitHeads, and
	// forgets the old heads' optimizer state: the old heads predicted
	// labels that no longer exist.
	SetHeads(s, k int, rng *rand.Rand) error
	// SetLR sets the learning rate of the next steps.
	SetLR(lr float64)
	// Step runs forward, backward and one SGD update on b.
	Step(b *Batch) (StepStats, error)
	// Extract writes the features (before ReLU) of n images, float32 NCHW
	// in x, into dst (n x FeatureDim), in eval mode: each image's features
	// depend on that image alone.
	Extract(x []float32, n int, dst []float32) error
	// State exports the whole model state in the device-neutral form.
	State() (*State, error)
	// LoadState replaces the model state by st (heads included, sized by
	// st.HeadS and st.HeadK); it checks every tensor's name and shape.
	LoadState(st *State) error
	// Close frees what the backend holds (machines, device memory).
	Close() error
}

// State is a model's whole state in one device-neutral form, the one a
// checkpoint stores: float32 tensors in host memory, row-major, named as
// below. A backend that keeps other layouts or precisions converts on
// export and import, so a checkpoint written by one backend resumes on
// another.
//
// Names: the trunk's "convS_C.weight" (out, in, 3, 3), "convS_C.bn.weight"
// and ".bn.bias" (1, C, 1, 1), "convS_C.bn.running_mean" and
// ".bn.running_var" (C), "fc1.weight" (in, hidden), "fc1.bias" (1, hidden),
// "fc2.weight", "fc2.bias"; the heads "head/V" (hidden, S), "head/V.bias"
// (1, S), "head/W" (S, hidden*K), "head/W.bias" (S, K); and the SGD
// momentum of each learnable tensor as "momentum/<name>" (absent before the
// tensor's first step).
type State struct {
	// HeadS and HeadK size the classifier heads; both 0 before the first
	// clustering (no heads yet).
	HeadS, HeadK int
	Tensors      []TensorRecord
}

// Tensor returns the tensor named name, or nil.
func (s *State) Tensor(name string) *TensorRecord {
	for i := range s.Tensors {
		if s.Tensors[i].Name == name {
			return &s.Tensors[i]
		}
	}
	return nil
}

// BackendConfig is what a backend is built from.
type BackendConfig struct {
	Model ModelConfig
	// Batch is the training batch; Extract takes any number of images.
	Batch int
	// LR, Momentum and WeightDecay are SGD's, in PyTorch's formulation:
	// g += wd*w; buf = mom*buf + g; w -= lr*buf.
	LR, Momentum, WeightDecay float64
	// Seed draws the initial trunk weights (InitTrunk), so that every
	// backend starts a run from the same weights.
	Seed uint64
}

// NewBackendFunc makes a backend; Config.NewBackend chooses one.
type NewBackendFunc func(BackendConfig) (Backend, error)

// Batch is one training batch, prepared by the loop: images as float32 NCHW
// and, per sample, its super-class s and its sub-class z (inside s).
type Batch struct {
	X     []float32
	Super []int
	Sub   []int
}

// StepStats are what a training step reports: mean losses and top-1
// precision of the two heads (zero for a head that does not exist).
type StepStats struct {
	LossSuper, LossSub float64
	PrecSuper, PrecSub float64
}

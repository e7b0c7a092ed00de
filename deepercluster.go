// Package deepercluster holds the domain types of DeeperCluster Explorer:
// datasets, images and their metadata, cluster assignments, run state and
// the events the trainer reports, with their invariants (Assignment.Validate,
// Delta.Apply, ComputeFlow) and the errors they share (errors.go). It
// depends on the standard library only, so that the WebAssembly client can
// import it; how these types travel and are stored is package wire's.
package deepercluster

import (
	"fmt"
	"time"
)

// Channels is the number of colour channels of every image the model sees:
// datasets with grey images (Fashion-MNIST) replicate the grey value.
const Channels = 3

// MaxResolution is the largest side, in pixels, a dataset may have: real
// photos train at 64 or 96 px (the model adds a pooling stage above 64 px,
// trainer.DefaultModelConfig).
const MaxResolution = 96

// Meta is the metadata that comes with one image, in the shape of a
// YFCC100M record. Fields that a dataset does not have stay empty.
type Meta struct {
	// PhotoID identifies the image in its source (a Flickr photo id for
	// YFCC100M, the index for generated sets).
	PhotoID string
	// Hash is the YFCC100M photo hash (MD5 of the download URL), if known.
	Hash        string
	User        string
	Title       string
	Description string
	// Tags are the user tags, URL-decoded, one tag per element; a tag may
	// hold spaces ("new york").
	Tags        []string
	MachineTags []string
	// AutoTags are machine-predicted concepts with their probabilities.
	AutoTags []AutoTag
	// Taken is when the photo was taken; zero when unknown or junk.
	Taken  time.Time
	Device string
	// File is the image's path relative to its folder, with forward
	// slashes, for datasets ingested from a folder of images.
	File string
	// Extra holds the fields of a metadata table that have no place
	// above (column name -> value); they are searchable as text.
	Extra map[string]string
}

// AutoTag is one concept of the YFCC100M autotags file.
type AutoTag struct {
	Concept string
	Prob    float32
}

// Dataset is a fixed collection of images at model resolution with their
// metadata. Implementations must be safe for concurrent reads.
type Dataset interface {
	// Len is the number of images.
	Len() int
	// Resolution is the side of every image in pixels; images are square.
	Resolution() int
	// Image writes image i into dst as interleaved RGB rows (HWC), which
	// must hold Resolution()*Resolution()*Channels bytes.
	Image(i int, dst []byte) error
	// Meta returns the metadata of image i.
	Meta(i int) Meta
	// Label returns the hidden ground-truth class of image i, and false
	// when the dataset has no labels.
	Label(i int) (int, bool)
}

// DisplayImages is implemented by a Dataset that keeps, besides its images
// at model resolution, a display copy of every image large enough for a
// person to recognise (a folder of photos ingested with thumbnails). The
// server serves thumbnails from it at the size asked for; a dataset without
// it is shown at model resolution.
type DisplayImages interface {
	// DisplayJPEG returns the display copy of image i as JPEG bytes; the
	// caller must not modify them.
	DisplayJPEG(i int) ([]byte, error)
	// DisplaySize is the longest side of the display copies in pixels
	// (0 when the dataset holds none).
	DisplaySize() int
}

// ImageBytes is the size of one image of side res in a Dataset's layout.
func ImageBytes(res int) int { return res * res * Channels }

// Preset names one of the three methods that come out of the same code.
type Preset string

// The three presets: DeeperCluster and the two methods it generalises.
const (
	PresetDeeperCluster Preset = "deepercluster" // rotation x clusters, two levels
	PresetDeepCluster   Preset = "deepcluster"   // m = 1, no rotation
	PresetRotNet        Preset = "rotnet"        // k = 1, rotation only
)

// ParsePreset checks a preset name.
func ParsePreset(s string) (Preset, error) {
	switch p := Preset(s); p {
	case PresetDeeperCluster, PresetDeepCluster, PresetRotNet:
		return p, nil
	}
	return "", fmt.Errorf("unknown preset %q: want deepercluster, deepcluster or rotnet", s)
}

// Shape applies the preset's fixed sizes to m super-clusters and k
// sub-clusters: DeepCluster has one super-cluster, RotNet one sub-cluster,
// and a 0 there means the preset's 1. A size that contradicts the preset,
// or an unknown preset, is a *FieldError naming the field. The one place
// these rules live: run parameters and the clustering engine both ask it.
func (p Preset) Shape(m, k int) (int, int, error) {
	switch p {
	case PresetDeepCluster:
		if m == 0 {
			m = 1
		}
		if m != 1 {
			return 0, 0, &FieldError{"m", fmt.Sprintf("the deepcluster preset has m = 1, got m = %d", m)}
		}
	case PresetRotNet:
		if k == 0 {
			k = 1
		}
		if k != 1 {
			return 0, 0, &FieldError{"k", fmt.Sprintf("the rotnet preset has k = 1, got k = %d", k)}
		}
	case PresetDeeperCluster:
	default:
		_, err := ParsePreset(string(p))
		return 0, 0, &FieldError{"preset", err.Error()}
	}
	return m, k, nil
}

// Assignment is one version of the two-level clustering of a dataset:
// super-cluster and sub-cluster of every image. Sub ids are global, so that
// Sub alone names a cluster; SubParent gives the super-cluster of each.
type Assignment struct {
	// Version grows by one with every reclustering of a run; 0 is "none yet".
	Version uint32
	// Super[i] is the super-cluster of image i, in [0, M).
	Super []int32
	// Sub[i] is the global sub-cluster of image i, in [0, len(SubParent)).
	Sub []int32
	// M is the number of super-clusters.
	M int
	// SubParent[j] is the super-cluster that holds sub-cluster j.
	SubParent []int32
}

// Validate checks that every id is in range and that sub-clusters agree with
// their parents.
func (a *Assignment) Validate() error {
	if len(a.Super) != len(a.Sub) {
		return fmt.Errorf("%w: %d super ids but %d sub ids", ErrInvalidAssignment, len(a.Super), len(a.Sub))
	}
	for j, p := range a.SubParent {
		if p < 0 || int(p) >= a.M {
			return fmt.Errorf("%w: sub-cluster %d has parent %d outside [0,%d)", ErrInvalidAssignment, j, p, a.M)
		}
	}
	for i := range a.Super {
		s, z := a.Super[i], a.Sub[i]
		if s < 0 || int(s) >= a.M {
			return fmt.Errorf("%w: image %d: super-cluster %d outside [0,%d)", ErrInvalidAssignment, i, s, a.M)
		}
		if z < 0 || int(z) >= len(a.SubParent) {
			return fmt.Errorf("%w: image %d: sub-cluster %d outside [0,%d)", ErrInvalidAssignment, i, z, len(a.SubParent))
		}
		if a.SubParent[z] != s {
			return fmt.Errorf("%w: image %d: sub-cluster %d belongs to super-cluster %d, not %d", ErrInvalidAssignment, i, z, a.SubParent[z], s)
		}
	}
	return nil
}

// Sizes counts the images of every super-cluster and sub-cluster.
func (a *Assignment) Sizes() (super, sub []int) {
	super = make([]int, a.M)
	sub = make([]int, len(a.SubParent))
	for i := range a.Super {
		super[a.Super[i]]++
		sub[a.Sub[i]]++
	}
	return super, sub
}

// Phase is what a run is busy with.
type Phase string

// Phases of a run, in the order a reclustering goes through them.
const (
	PhaseIdle       Phase = "idle"
	PhaseExtracting Phase = "extracting"
	PhasePCA        Phase = "pca"
	PhaseLevel1     Phase = "kmeans-level1"
	PhaseLevel2     Phase = "kmeans-level2"
	PhaseTraining   Phase = "training"
	PhaseStopped    Phase = "stopped"
)

// Progress is a snapshot of a running training, reported often.
type Progress struct {
	Phase  Phase
	Epoch  int
	Epochs int
	Step   int
	Steps  int // steps per epoch
	// Done is the fraction of the current phase done, in [0, 1].
	Done float64
	// LossSuper and LossSub are the running losses of the two heads;
	// PrecSuper and PrecSub their top-1 precision in [0, 1].
	LossSuper, LossSub float64
	PrecSuper, PrecSub float64
	ImagesPerSec       float64
}

// Metrics are the quality figures computed after each reclustering.
type Metrics struct {
	Version uint32
	Epoch   int
	// StabilityNMI is the NMI between this assignment and the one before;
	// NaN for the first.
	StabilityNMI float64
	// LabelNMI, LabelARI and LabelPurity compare the sub-clusters
	// with the dataset's labels; NaN when it has none.
	LabelNMI, LabelARI, LabelPurity float64
}

// RunParams are the parameters of a run that a user may change when asking
// for a reclustering.
type RunParams struct {
	Preset         Preset `json:"preset"`
	M              int    `json:"m"`
	K              int    `json:"k"`
	ReclusterEvery int    `json:"recluster_every"`
	PCADim         int    `json:"pca_dim"`
}

// Validate checks the parameters against a dataset of n images and names the
// first bad field.
func (p RunParams) Validate(n int) error {
	if _, err := ParsePreset(string(p.Preset)); err != nil {
		return &FieldError{"preset", err.Error()}
	}
	switch {
	case p.M < 1 || p.M > 10_000:
		return &FieldError{"m", fmt.Sprintf("must be in [1, 10000], got %d", p.M)}
	case p.K < 1 || p.K > 100_000:
		return &FieldError{"k", fmt.Sprintf("must be in [1, 100000], got %d", p.K)}
	case n > 0 && p.M > n:
		return &FieldError{"m", fmt.Sprintf("%d super-clusters for %d images", p.M, n)}
	case p.ReclusterEvery < 1 || p.ReclusterEvery > 1000:
		return &FieldError{"recluster_every", fmt.Sprintf("must be in [1, 1000], got %d", p.ReclusterEvery)}
	case p.PCADim < 2 || p.PCADim > 4096:
		return &FieldError{"pca_dim", fmt.Sprintf("must be in [2, 4096], got %d", p.PCADim)}
	}
	_, _, err := p.Preset.Shape(p.M, p.K)
	return err
}

// Observer receives the events of a run. The trainer calls it from its own
// goroutine, so implementations must return quickly (queue, never block):
// a slow observer must not stall training.
type Observer interface {
	OnProgress(Progress)
	// OnAssignment is called with each new Assignment version once it is
	// saved; the Assignment must not be modified.
	OnAssignment(*Assignment)
	OnMetrics(Metrics)
}

// RunInfo describes a run: what it trains on and where it stands.
type RunInfo struct {
	ID         string    `json:"id"`
	Dataset    string    `json:"dataset"`
	Images     int       `json:"images"`
	Resolution int       `json:"resolution"`
	Labels     bool      `json:"labels"`
	Params     RunParams `json:"params"`
	Progress   Progress  `json:"progress"`
	// Version is the latest Assignment version, 0 before the first.
	Version uint32    `json:"version"`
	Started time.Time `json:"started"`
	// Device is what the network trains on (--device), shown in the
	// page's header; zero when unknown (a run without a trainer).
	Device DeviceInfo `json:"device"`
}

// DeviceInfo names the compute device of a run, so that whoever looks at
// a run can tell a CPU run from a GPU one and which GPU.
type DeviceInfo struct {
	// Kind is "cpu", "cuda" or "opencl".
	Kind string `json:"kind"`
	// Name is the device's name as its driver reports it (for the CPU,
	// the architecture and thread count).
	Name string `json:"name"`
	// MemoryBytes is the device's global memory; 0 for the CPU.
	MemoryBytes int64 `json:"memory_bytes"`
}

// TagCount is a tag and how many images carry it.
type TagCount struct {
	Tag   string `json:"tag"`
	Count int    `json:"count"`
}

// ClusterSummary is what the UI shows of one sub-cluster without asking
// for more: its place in the hierarchy, its size and its top tags.
type ClusterSummary struct {
	Sub   int32 `json:"sub"`
	Super int32 `json:"super"`
	Size  int   `json:"size"`
	// TopTags are the most frequent tags, most frequent first.
	TopTags []TagCount `json:"top_tags"`
	// TopShare is the share of the cluster's images carrying TopTags[0].
	TopShare float64 `json:"top_share"`
	// Keywords are the tags that set the cluster apart (c-TF-IDF: frequent
	// here, rare elsewhere), best first. They name a cluster better than its
	// most frequent tag, which is often one every cluster has ("travel").
	Keywords []string `json:"keywords"`
}

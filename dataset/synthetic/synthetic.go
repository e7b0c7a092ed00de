package synthetic

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"

	"github.com/deepercluster/deepercluster"
)

// Config sizes the generated dataset. Every image is a pure
// function of (Seed, index), so the same config always yields the same bytes.
type Config struct {
	// Seed picks the images and metadata; concept names and their
	// frequencies do not depend on it.
	Seed int64
	// N is the number of images, in [1, 1000000].
	N int
	// Resolution is the side of the square images in pixels, in [16, 64].
	Resolution int
}

// Limits of Config, checked by New.
const (
	MaxN          = 1_000_000
	MinResolution = 16
	MaxResolution = 64
)

// DefaultConfig is the embedded default dataset: 20,000 images at
// 32x32, small enough to train on a laptop CPU in minutes.
func DefaultConfig() Config {
	return Config{Seed: 1, N: 20000, Resolution: 32}
}

// Validate names the first field outside its range.
func (c Config) Validate() error {
	if c.N < 1 || c.N > MaxN {
		return &deepercluster.FieldError{Field: "N", Msg: fmt.Sprintf("synthetic image count must be in [1, %d], got %d", MaxN, c.N)}
	}
	if c.Resolution < MinResolution || c.Resolution > MaxResolution {
		return &deepercluster.FieldError{Field: "Resolution", Msg: fmt.Sprintf("synthetic resolution must be in [%d, %d] pixels, got %d", MinResolution, MaxResolution, c.Resolution)}
	}
	return nil
}

// zipfExponent shapes the concept frequencies: with 34 concepts the most
// common is 34^1.1 (about 48) times as frequent as the rarest, like the
// long tail of real photo collections.
const zipfExponent = 1.1

// userCount is the number of distinct photographers in the metadata.
const userCount = 300

// Dataset is the embedded default dataset: outdoor-like scenes of hidden
// concepts with long-tailed frequencies and YFCC-style noisy metadata.
// Nothing per image is stored: image i and its metadata are rendered on
// demand from (seed, i), so a million 64x64 images cost no memory. It is
// read-only after New and so safe for concurrent use.
type Dataset struct {
	cfg Config
	// conceptCum is the cumulative distribution of concepts.
	conceptCum []float64
	// users are Flickr-like NSIDs; userCum their long-tailed distribution;
	// fans[c] are users who favour concept c.
	users   []string
	userCum []float64
	fans    [][]int
	// vocab[c] are the concept tags of c; tagConcept maps each back.
	vocab      [][]weightedTag
	tagConcept map[string]int
	// cameraCum is the long-tailed distribution of capture devices.
	cameraCum []float64
}

// weightedTag is a tag variant and how often it is chosen among its
// concept's variants.
type weightedTag struct {
	tag string
	w   float64
}

var _ deepercluster.Dataset = (*Dataset)(nil)

// New checks the config and prepares the small tables (concept and
// user distributions, tag vocabularies) that every image is drawn from.
func New(cfg Config) (*Dataset, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("synthetic dataset: %w", err)
	}
	s := &Dataset{cfg: cfg, tagConcept: map[string]int{}}
	s.conceptCum = zipfCum(len(concepts), zipfExponent)
	s.userCum = zipfCum(userCount, 1.0)
	s.cameraCum = zipfCum(len(cameras), 0.8)
	r := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed0fa11))
	seen := map[string]bool{}
	for len(s.users) < userCount {
		id := fmt.Sprintf("%d@N%02d", 10_000_000+r.IntN(90_000_000), r.IntN(8))
		if !seen[id] {
			seen[id] = true
			s.users = append(s.users, id)
		}
	}
	s.fans = make([][]int, len(concepts))
	for c := range concepts {
		for k := 0; k < 3; k++ {
			s.fans[c] = append(s.fans[c], r.IntN(userCount))
		}
	}
	s.vocab = make([][]weightedTag, len(concepts))
	var dup error
	for c, cp := range concepts {
		addTags := func(tags []string, w float64) {
			for _, t := range tags {
				if prev, ok := s.tagConcept[t]; ok && prev != c && dup == nil {
					dup = fmt.Errorf("synthetic concept table: tag %q belongs to both %s and %s", t, concepts[prev].name, cp.name)
				}
				s.tagConcept[t] = c
				s.vocab[c] = append(s.vocab[c], weightedTag{t, w / float64(len(tags))})
			}
		}
		addTags([]string{cp.name}, 0.5)
		addTags(cp.synonyms, 0.25)
		addTags(cp.typos, 0.1)
		addTags(cp.phrases, 0.15)
	}
	if dup != nil {
		return nil, dup
	}
	return s, nil
}

// zipfCum is the cumulative distribution of ranks 1..n with P(k) ~ k^-s.
func zipfCum(n int, s float64) []float64 {
	cum := make([]float64, n)
	total := 0.0
	for k := range cum {
		total += math.Pow(float64(k+1), -s)
		cum[k] = total
	}
	for k := range cum {
		cum[k] /= total
	}
	return cum
}

// pick returns the index of u in a cumulative distribution.
func pickCum(cum []float64, u float64) int {
	k := sort.SearchFloat64s(cum, u)
	if k >= len(cum) {
		k = len(cum) - 1
	}
	return k
}

// Streams separate the random draws of one image, so that Meta need not
// render pixels and Label need neither.
const (
	streamConcept uint64 = iota + 1
	streamImage
	streamMeta
)

// mix64 is the splitmix64 finaliser: it spreads neighbouring indices over
// the whole seed space so consecutive images are unrelated.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// rng is a PCG generator kept by value so that rendering allocates nothing.
type rng struct{ p rand.PCG }

func (s *Dataset) rngFor(i int, stream uint64) rng {
	var r rng
	r.p.Seed(mix64(uint64(s.cfg.Seed)^stream*0x9e3779b97f4a7c15), mix64(uint64(i)*0x2545f4914f6cdd1d+stream))
	return r
}

// f returns a float in [0, 1).
func (r *rng) f() float32 { return float32(r.p.Uint64()>>40) / (1 << 24) }

// f64 returns a float64 in [0, 1).
func (r *rng) f64() float64 { return float64(r.p.Uint64()>>11) / (1 << 53) }

// rangef returns a float in [a, b).
func (r *rng) rangef(a, b float32) float32 { return a + (b-a)*r.f() }

// n returns an int in [0, n).
func (r *rng) n(n int) int { return int(((r.p.Uint64() >> 32) * uint64(n)) >> 32) }

// chance is true with probability p.
func (r *rng) chance(p float64) bool { return r.f64() < p }

// concept draws the hidden concept of image i.
func (s *Dataset) concept(i int) int {
	r := s.rngFor(i, streamConcept)
	return pickCum(s.conceptCum, r.f64())
}

// Len is the number of images.
func (s *Dataset) Len() int { return s.cfg.N }

// Resolution is the side of every image in pixels.
func (s *Dataset) Resolution() int { return s.cfg.Resolution }

// Config is the config the dataset was made with.
func (s *Dataset) Config() Config { return s.cfg }

// Label is the hidden concept of image i, the ground truth that cluster
// quality is measured against.
func (s *Dataset) Label(i int) (int, bool) {
	if i < 0 || i >= s.cfg.N {
		return -1, false
	}
	return s.concept(i), true
}

// NumLabels is the number of concepts.
func (s *Dataset) NumLabels() int { return len(concepts) }

// Concepts are the concept names in label order (most frequent first), for
// reports that name clusters by their majority concept.
func (s *Dataset) Concepts() []string {
	out := make([]string, len(concepts))
	for c, cp := range concepts {
		out[c] = cp.name
	}
	return out
}

// Image renders image i into dst (HWC RGB, Resolution()^2*3 bytes).
func (s *Dataset) Image(i int, dst []byte) error {
	if i < 0 || i >= s.cfg.N {
		return fmt.Errorf("synthetic image %d outside [0,%d)", i, s.cfg.N)
	}
	res := s.cfg.Resolution
	if need := deepercluster.ImageBytes(res); len(dst) < need {
		return fmt.Errorf("synthetic image %d: destination holds %d bytes, need %d", i, len(dst), need)
	}
	r := s.rngFor(i, streamImage)
	renderScene(dst[:deepercluster.ImageBytes(res)], res, &concepts[s.concept(i)], &r)
	return nil
}

// photoID is a Flickr-like numeric id, unique per index.
func photoID(i int) string { return strconv.FormatInt(5_000_000_000+int64(i)*7, 10) }

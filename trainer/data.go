package trainer

import (
	"math/rand/v2"

	"github.com/deepercluster/deepercluster/internal/rotate"
)

// Pixel normalisation: bytes to roughly zero mean, unit spread.
const (
	pixMean  = 0.5
	pixScale = 1 / (255 * 0.25)
)

// toCHW writes an HWC RGB uint8 image as normalised float32 CHW planes.
func toCHW(dst []float32, src []byte, res int) {
	plane := res * res
	for p := range plane {
		for c := range 3 {
			dst[c*plane+p] = float32(src[p*3+c])*pixScale - pixMean/0.25
		}
	}
}

// augment applies the training augmentation to one HWC image: a horizontal
// flip with probability 1/2, then a random crop of the image padded with
// res/8 black pixels per side. The rotation comes after (see sample), so
// that "up" stays what the rotation target says it is.
// Without mayFlip the flip is drawn but never applied, so that the other
// draws stay those of a run with flips.
func augment(dst, src []byte, res int, rng *rand.Rand, mayFlip bool) {
	pad := max(1, res/8)
	dx := rng.IntN(2*pad+1) - pad
	dy := rng.IntN(2*pad+1) - pad
	flip := rng.IntN(2) == 1 && mayFlip
	for y := range res {
		sy := y + dy
		for x := range res {
			sx := x + dx
			o := (y*res + x) * 3
			if sy < 0 || sy >= res || sx < 0 || sx >= res {
				dst[o], dst[o+1], dst[o+2] = 0, 0, 0
				continue
			}
			if flip {
				sx = res - 1 - sx
			}
			i := (sy*res + sx) * 3
			dst[o], dst[o+1], dst[o+2] = src[i], src[i+1], src[i+2]
		}
	}
}

// sampler turns dataset images into training inputs; its buffers are
// reused across samples.
type sampler struct {
	res       int
	raw, aug  []byte
	rot       []byte
	augmented bool
	// strong picks augmentStrong over augment (Config.StrongAugment).
	strong bool
	// flip lets the augmentation mirror images (not Config.NoFlip).
	flip bool
}

func newSampler(res int, augmented, strong, flip bool) *sampler {
	n := res * res * 3
	return &sampler{res: res, raw: make([]byte, n), aug: make([]byte, n), rot: make([]byte, n), augmented: augmented, strong: strong, flip: flip}
}

// sample writes image bytes src, augmented and rotated by r quarter turns
// (counter-clockwise), as CHW floats into dst.
func (s *sampler) sample(dst []float32, src []byte, r int, rng *rand.Rand) {
	img := src
	switch {
	case s.augmented && s.strong:
		augmentStrong(s.aug, src, s.res, rng, s.flip)
		img = s.aug
	case s.augmented:
		augment(s.aug, src, s.res, rng, s.flip)
		img = s.aug
	}
	if r != 0 {
		rotate.Image(s.rot, img, s.res, r)
		img = s.rot
	}
	toCHW(dst, img, s.res)
}

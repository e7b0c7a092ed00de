package trainer

import (
	"math"
	"math/rand/v2"
)

// The ranges of the strong augmentation (Config.StrongAugment), those of
// torchvision's RandomResizedCrop and ColorJitter as SimCLR-style methods
// use them, narrowed for 28 px images: a crop of 35-100% of the area at an
// aspect ratio of 3/4 to 4/3, then brightness and contrast factors in
// [1-jitter, 1+jitter].
const (
	strongMinArea = 0.35
	strongJitter  = 0.4
)

// augmentStrong is the stronger training augmentation, a lever of issue 28
// (off by default, not yet validated): a random resized crop (area and
// aspect ratio drawn as above, log-uniform ratio, position uniform, scaled
// back to res x res by nearest neighbour), a horizontal flip with
// probability 1/2, then brightness (v * b) and contrast (blend with the
// image's mean grey: m + (v - m) * c) jitter, clamped to [0, 255]. It
// writes dst (res*res*3 HWC bytes) from src. Without mayFlip the flip is
// drawn but not applied, as in augment.
func augmentStrong(dst, src []byte, res int, rng *rand.Rand, mayFlip bool) {
	area := strongMinArea + (1-strongMinArea)*rng.Float64()
	logR := math.Log(3.0/4) + (math.Log(4.0/3)-math.Log(3.0/4))*rng.Float64()
	ratio := math.Exp(logR)
	w := min(res, max(1, int(math.Round(float64(res)*math.Sqrt(area*ratio)))))
	h := min(res, max(1, int(math.Round(float64(res)*math.Sqrt(area/ratio)))))
	x0 := rng.IntN(res - w + 1)
	y0 := rng.IntN(res - h + 1)
	flip := rng.IntN(2) == 1 && mayFlip
	bright := 1 - strongJitter + 2*strongJitter*rng.Float64()
	contrast := 1 - strongJitter + 2*strongJitter*rng.Float64()
	for y := range res {
		sy := y0 + min(h-1, y*h/res)
		for x := range res {
			xx := x
			if flip {
				xx = res - 1 - x
			}
			sx := x0 + min(w-1, xx*w/res)
			i, o := (sy*res+sx)*3, (y*res+x)*3
			dst[o], dst[o+1], dst[o+2] = src[i], src[i+1], src[i+2]
		}
	}
	var sum float64
	for _, v := range dst[:res*res*3] {
		sum += float64(v)
	}
	mean := bright * sum / float64(res*res*3)
	for i, v := range dst[:res*res*3] {
		f := mean + (float64(v)*bright-mean)*contrast
		dst[i] = byte(min(255, max(0, math.Round(f))))
	}
}

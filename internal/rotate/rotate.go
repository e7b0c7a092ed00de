// Package rotate turns square images by quarter turns: the rotation
// targets of training and the tests that check a dataset's canonical "up"
// use the one implementation.
package rotate

import (
	"fmt"

	"github.com/deepercluster/deepercluster"
)

// Image writes into dst the square HWC RGB image src of side res turned
// counter-clockwise by quarterTurns * 90 degrees. quarterTurns is taken
// modulo 4, so -1 is a clockwise quarter turn. The rotation targets of
// DeeperCluster (r in {0, 90, 180, 270}) are built with it (the trainer's
// sampler), so it is written as four straight copy loops rather than a
// general affine warp. It is a package of its own so that neither the
// trainer nor the dataset sources import the other for it.
//
// dst and src must not overlap and must both hold res*res*3 bytes; a shorter
// buffer is a programming error and panics, as copy-like helpers do.
func Image(dst, src []byte, res int, quarterTurns int) {
	const c = deepercluster.Channels
	n := res * res * c
	if res < 0 || len(dst) < n || len(src) < n {
		panic(fmt.Sprintf("rotate.Image: res %d needs %d bytes, got dst %d and src %d", res, n, len(dst), len(src)))
	}
	dst, src = dst[:n], src[:n]
	last := res - 1
	switch ((quarterTurns % 4) + 4) % 4 {
	case 0:
		copy(dst, src)
	case 1: // counter-clockwise: dst(y, x) = src(x, last-y)
		for y := 0; y < res; y++ {
			row := dst[y*res*c : (y+1)*res*c]
			sx := (last - y) * c
			for x := 0; x < res; x++ {
				s := x*res*c + sx
				row[x*c], row[x*c+1], row[x*c+2] = src[s], src[s+1], src[s+2]
			}
		}
	case 2: // dst(y, x) = src(last-y, last-x)
		for y := 0; y < res; y++ {
			row := dst[y*res*c : (y+1)*res*c]
			srow := src[(last-y)*res*c : (last-y+1)*res*c]
			for x := 0; x < res; x++ {
				s := (last - x) * c
				row[x*c], row[x*c+1], row[x*c+2] = srow[s], srow[s+1], srow[s+2]
			}
		}
	case 3: // clockwise: dst(y, x) = src(last-x, y)
		for y := 0; y < res; y++ {
			row := dst[y*res*c : (y+1)*res*c]
			for x := 0; x < res; x++ {
				s := (last-x)*res*c + y*c
				row[x*c], row[x*c+1], row[x*c+2] = src[s], src[s+1], src[s+2]
			}
		}
	}
}

package dataset

import (
	"fmt"

	"github.com/deepercluster/deepercluster"
)

// Rotate writes into dst the square HWC RGB image src of side res turned
// counter-clockwise by quarterTurns * 90 degrees. quarterTurns is taken
// modulo 4, so -1 is a clockwise quarter turn. The synthetic set's tests
// turn images with it to check that they have a canonical up; the trainer
// builds its rotation targets with its own copy (trainer/rotate.go), so
// that it does not import dataset.
//
// dst and src must not overlap and must both hold res*res*3 bytes; a shorter
// buffer is a programming error and panics, as copy-like helpers do.
func Rotate(dst, src []byte, res int, quarterTurns int) {
	const c = deepercluster.Channels
	n := res * res * c
	if res < 0 || len(dst) < n || len(src) < n {
		panic(fmt.Sprintf("dataset.Rotate: res %d needs %d bytes, got dst %d and src %d", res, n, len(dst), len(src)))
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

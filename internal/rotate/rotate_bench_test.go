package rotate

import (
	"strconv"
	"testing"
)

func BenchmarkRotate(b *testing.B) {
	const res = 32
	src, dst := make([]byte, res*res*3), make([]byte, res*res*3)
	for k := 1; k < 4; k++ {
		b.Run("quarter-turns="+strconv.Itoa(k), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				Image(dst, src, res, k)
			}
		})
	}
}

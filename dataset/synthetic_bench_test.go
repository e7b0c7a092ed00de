package dataset

import (
	"strconv"
	"testing"

	"github.com/deepercluster/deepercluster"
)

// BenchmarkSyntheticImage measures rendering; the target is well under
// 50 µs per 32x32 image so that rendering never limits training.
func BenchmarkSyntheticImage(b *testing.B) {
	for _, res := range []int{16, 32, 64} {
		b.Run("res="+strconv.Itoa(res), func(b *testing.B) {
			s := mustSynthetic(b, SyntheticConfig{Seed: 1, N: SyntheticMaxN, Resolution: res})
			dst := make([]byte, deepercluster.ImageBytes(res))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := s.Image(i%SyntheticMaxN, dst); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkSyntheticMeta(b *testing.B) {
	s := mustSynthetic(b, DefaultSyntheticConfig())
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = s.Meta(i % s.Len())
		i++
	}
}

func BenchmarkRotate(b *testing.B) {
	const res = 32
	src, dst := make([]byte, res*res*3), make([]byte, res*res*3)
	for k := 1; k < 4; k++ {
		b.Run("quarter-turns="+strconv.Itoa(k), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				Rotate(dst, src, res, k)
			}
		})
	}
}

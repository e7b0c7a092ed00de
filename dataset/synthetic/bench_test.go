package synthetic

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
			s := mustSynthetic(b, Config{Seed: 1, N: MaxN, Resolution: res})
			dst := make([]byte, deepercluster.ImageBytes(res))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := s.Image(i%MaxN, dst); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkSyntheticMeta(b *testing.B) {
	s := mustSynthetic(b, DefaultConfig())
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = s.Meta(i % s.Len())
		i++
	}
}

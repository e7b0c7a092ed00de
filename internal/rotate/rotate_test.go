package rotate

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// px builds an image of side res from rows of single-byte pixel ids, each
// replicated as (id, id+100, id+200) so channel mix-ups show.
func px(res int, ids ...byte) []byte {
	out := make([]byte, 0, res*res*3)
	for _, id := range ids {
		out = append(out, id, id+100, id+200)
	}
	return out
}

func TestRotateKnown(t *testing.T) {
	// 2x2:  a b      CCW 90:  b d     180: d c     270: c a
	//       c d               a c          b a          d b
	tests := []struct {
		name  string
		res   int
		turns int
		src   []byte
		want  []byte
	}{
		{"2x2 r0", 2, 0, px(2, 1, 2, 3, 4), px(2, 1, 2, 3, 4)},
		{"2x2 r90", 2, 1, px(2, 1, 2, 3, 4), px(2, 2, 4, 1, 3)},
		{"2x2 r180", 2, 2, px(2, 1, 2, 3, 4), px(2, 4, 3, 2, 1)},
		{"2x2 r270", 2, 3, px(2, 1, 2, 3, 4), px(2, 3, 1, 4, 2)},
		{"2x2 r-90 is r270", 2, -1, px(2, 1, 2, 3, 4), px(2, 3, 1, 4, 2)},
		{"2x2 r450 is r90", 2, 5, px(2, 1, 2, 3, 4), px(2, 2, 4, 1, 3)},
		// 3x3: 1 2 3 / 4 5 6 / 7 8 9 turned CCW: 3 6 9 / 2 5 8 / 1 4 7
		{"3x3 r90", 3, 1, px(3, 1, 2, 3, 4, 5, 6, 7, 8, 9), px(3, 3, 6, 9, 2, 5, 8, 1, 4, 7)},
		{"3x3 r180", 3, 2, px(3, 1, 2, 3, 4, 5, 6, 7, 8, 9), px(3, 9, 8, 7, 6, 5, 4, 3, 2, 1)},
		{"3x3 r270", 3, 3, px(3, 1, 2, 3, 4, 5, 6, 7, 8, 9), px(3, 7, 4, 1, 8, 5, 2, 9, 6, 3)},
		{"1x1", 1, 1, px(1, 7), px(1, 7)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]byte, len(tc.src))
			Image(dst, tc.src, tc.res, tc.turns)
			if !bytes.Equal(dst, tc.want) {
				t.Fatalf("got %v, want %v", dst, tc.want)
			}
		})
	}
}

func TestRotateGroup(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, res := range []int{1, 2, 5, 16, 32, 64} {
		src := make([]byte, res*res*3)
		for i := range src {
			src[i] = byte(r.UintN(256))
		}
		rot := func(img []byte, k int) []byte {
			out := make([]byte, len(img))
			Image(out, img, res, k)
			return out
		}
		// Four quarter turns are the identity; a then b equals a+b.
		if got := rot(rot(rot(rot(src, 1), 1), 1), 1); !bytes.Equal(got, src) {
			t.Errorf("res %d: four quarter turns are not the identity", res)
		}
		for a := 0; a < 4; a++ {
			for b := 0; b < 4; b++ {
				if !bytes.Equal(rot(rot(src, a), b), rot(src, a+b)) {
					t.Errorf("res %d: rotate %d then %d differs from %d", res, a, b, a+b)
				}
			}
		}
		if res > 1 && bytes.Equal(rot(src, 1), src) {
			t.Errorf("res %d: a quarter turn left a random image unchanged", res)
		}
	}
}

func TestRotateShortBufferPanicsWithMessage(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("no panic on a short buffer")
		} else if s, _ := r.(string); !bytes.Contains([]byte(s), []byte("needs 12 bytes")) {
			t.Fatalf("panic message %q does not say what is needed", s)
		}
	}()
	Image(make([]byte, 3), make([]byte, 12), 2, 1)
}

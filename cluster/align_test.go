package cluster

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/deepercluster/deepercluster"
)

// permuted returns a with its super and sub ids renamed by random
// permutations that respect the hierarchy.
func permuted(a *deepercluster.Assignment, rng *rand.Rand) *deepercluster.Assignment {
	sp := rng.Perm(a.M)
	zp := rng.Perm(len(a.SubParent))
	b := &deepercluster.Assignment{M: a.M, Super: make([]int32, len(a.Super)), Sub: make([]int32, len(a.Sub)), SubParent: make([]int32, len(a.SubParent))}
	for i := range a.Super {
		b.Super[i] = int32(sp[a.Super[i]])
		b.Sub[i] = int32(zp[a.Sub[i]])
	}
	for j, p := range a.SubParent {
		b.SubParent[zp[j]] = int32(sp[p])
	}
	return b
}

func randomAssignment(n, m, k int, rng *rand.Rand) *deepercluster.Assignment {
	a := &deepercluster.Assignment{M: m, Super: make([]int32, n), Sub: make([]int32, n), SubParent: make([]int32, m*k)}
	for j := range a.SubParent {
		a.SubParent[j] = int32(j / k)
	}
	for i := range a.Super {
		z := rng.IntN(m * k)
		a.Sub[i], a.Super[i] = int32(z), int32(z/k)
	}
	return a
}

func TestAlign(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name      string
		n, m, k   int
		moveShare float64 // share of images moved to another random sub-cluster
		// wantSame is the least share of images whose ids must be unchanged
		// after alignment.
		wantSame float64
	}{
		{"same partition", 2000, 4, 5, 0, 1},
		{"10% moved", 5000, 4, 8, 0.1, 0.85},
		{"single super", 1000, 1, 10, 0.05, 0.9},
		{"single sub per super", 1000, 6, 1, 0.05, 0.9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev := randomAssignment(tt.n, tt.m, tt.k, rng)
			next := permuted(prev, rng)
			for i := range next.Sub {
				if rng.Float64() < tt.moveShare {
					z := int32(rng.IntN(len(next.SubParent)))
					next.Sub[i], next.Super[i] = z, next.SubParent[z]
				}
			}
			before := NMI(next.Sub, prev.Sub)
			Align(prev, next)
			if err := next.Validate(); err != nil {
				t.Fatalf("aligned assignment invalid: %v", err)
			}
			if after := NMI(next.Sub, prev.Sub); after < before-1e-9 || after > before+1e-9 {
				t.Errorf("alignment changed the partition: NMI %v before, %v after", before, after)
			}
			same := 0
			for i := range next.Sub {
				if next.Sub[i] == prev.Sub[i] && next.Super[i] == prev.Super[i] {
					same++
				}
			}
			if share := float64(same) / float64(tt.n); share < tt.wantSame {
				t.Errorf("only %.3f of images kept their ids, want at least %.3f", share, tt.wantSame)
			}
		})
	}
}

func TestAlignDifferentSizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	prev := randomAssignment(3000, 6, 10, rng) // 60 sub-clusters
	next := randomAssignment(3000, 3, 4, rng)  // 12 sub-clusters: fewer ids
	Align(prev, next)
	if err := next.Validate(); err != nil {
		t.Fatalf("aligned assignment invalid: %v", err)
	}
	ids := slices.Clone(next.SubParent)
	if len(ids) != 12 || next.M != 3 {
		t.Fatalf("alignment changed the shape: %d sub-clusters, m=%d", len(ids), next.M)
	}
	// Lengths differ: nothing to align, nothing changed.
	short := randomAssignment(10, 2, 2, rng)
	orig := slices.Clone(short.Sub)
	Align(prev, short)
	if !slices.Equal(orig, short.Sub) {
		t.Error("Align changed an assignment of another length")
	}
}

package deepercluster

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// randomAssignment makes a valid assignment of n images with m super-clusters
// and k sub-clusters in each.
func randomAssignment(rng *rand.Rand, version uint32, n, m, k int) *Assignment {
	a := &Assignment{Version: version, M: m, Super: make([]int32, n), Sub: make([]int32, n)}
	for j := 0; j < m*k; j++ {
		a.SubParent = append(a.SubParent, int32(j/k))
	}
	for i := range n {
		z := int32(rng.IntN(m * k))
		a.Sub[i], a.Super[i] = z, a.SubParent[z]
	}
	return a
}

func TestDeltaApplyRefusesWithoutChange(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	base := func() *Assignment { return randomAssignment(rand.New(rand.NewPCG(7, 7)), 1, 100, 2, 2) }
	good := func() Delta {
		next := randomAssignment(rng, 2, 100, 2, 2)
		d, err := DiffAssignments(base(), next)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	cases := []struct {
		name string
		edit func(d *Delta, a *Assignment)
	}{
		{"wrong from version", func(d *Delta, a *Assignment) { d.From = 5 }},
		{"wrong image count", func(d *Delta, a *Assignment) { d.N = 99 }},
		{"index out of range", func(d *Delta, a *Assignment) { d.Index[len(d.Index)-1] = 100 }},
		{"index out of order", func(d *Delta, a *Assignment) { d.Index[0], d.Index[1] = d.Index[1], d.Index[0] }},
		{"super disagrees with parent", func(d *Delta, a *Assignment) { d.Super[0] = 1 - d.Super[0] }},
		{"parent out of range", func(d *Delta, a *Assignment) { d.SubParent[0] = 7 }},
		{"unchanged image breaks new hierarchy", func(d *Delta, a *Assignment) {
			d.Index, d.Super, d.Sub = nil, nil, nil
			d.SubParent = []int32{1, 1, 0, 0}
		}},
		{"length mismatch", func(d *Delta, a *Assignment) { d.Sub = d.Sub[:1] }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, a := good(), base()
			d.SubParent = append([]int32(nil), d.SubParent...)
			c.edit(&d, a)
			if err := d.Apply(a); err == nil {
				t.Fatal("bad delta applied")
			}
			if !reflect.DeepEqual(a, base()) {
				t.Fatal("refused delta changed the assignment")
			}
		})
	}
}

func TestDiffAssignmentsSizeMismatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	if _, err := DiffAssignments(randomAssignment(rng, 1, 10, 1, 1), randomAssignment(rng, 2, 11, 1, 1)); err == nil {
		t.Fatal("no error for different sizes")
	}
}

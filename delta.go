package deepercluster

import (
	"fmt"
	"slices"
)

// Delta turns Assignment version From into version To: the images whose
// super- or sub-cluster changed, with their new ids, and the new hierarchy.
// After a reclustering most images keep their place, so a delta is much
// smaller than a snapshot.
type Delta struct {
	From, To uint32
	// N is the number of images of both versions.
	N int
	// Index lists the changed images in increasing order; Super and Sub
	// hold their new ids, in the same order.
	Index []uint32
	Super []int32
	Sub   []int32
	// M and SubParent are those of version To.
	M         int
	SubParent []int32
	// Summaries are the cluster summaries of version To, if known when the
	// delta was made (they may also come later in a Summaries frame).
	Summaries []ClusterSummary
}

// DiffAssignments computes the delta from old to new. Both must describe the
// same number of images.
func DiffAssignments(old, new *Assignment) (Delta, error) {
	if len(old.Super) != len(new.Super) || len(old.Sub) != len(new.Sub) {
		return Delta{}, fmt.Errorf("diff assignments: %d images in version %d but %d in version %d",
			len(old.Super), old.Version, len(new.Super), new.Version)
	}
	d := Delta{From: old.Version, To: new.Version, N: len(new.Super), M: new.M, SubParent: new.SubParent}
	os, oz, ns, nz := old.Super, old.Sub[:len(old.Super)], new.Super[:len(old.Super)], new.Sub[:len(old.Super)]
	for i := range os {
		if os[i] != ns[i] || oz[i] != nz[i] {
			d.Index = append(d.Index, uint32(i))
			d.Super = append(d.Super, ns[i])
			d.Sub = append(d.Sub, nz[i])
		}
	}
	return d, nil
}

// Apply turns a (version From) into version To in place. It checks
// everything first and changes nothing when the delta does not fit a or
// would leave an invalid Assignment.
func (d *Delta) Apply(a *Assignment) error {
	if a.Version != d.From {
		return fmt.Errorf("apply delta %d->%d: assignment is version %d", d.From, d.To, a.Version)
	}
	if len(a.Super) != d.N || len(a.Sub) != d.N {
		return fmt.Errorf("apply delta %d->%d: delta has %d images, assignment %d", d.From, d.To, d.N, len(a.Super))
	}
	if len(d.Super) != len(d.Index) || len(d.Sub) != len(d.Index) {
		return fmt.Errorf("%w: delta lists %d images but %d super and %d sub ids", ErrInvalidAssignment, len(d.Index), len(d.Super), len(d.Sub))
	}
	for j, p := range d.SubParent {
		if p < 0 || int(p) >= d.M {
			return fmt.Errorf("%w: sub-cluster %d has parent %d outside [0,%d)", ErrInvalidAssignment, j, p, d.M)
		}
	}
	ok := func(i int, s, z int32) error {
		if s < 0 || int(s) >= d.M || z < 0 || int(z) >= len(d.SubParent) || d.SubParent[z] != s {
			return fmt.Errorf("%w: image %d would be in super-cluster %d, sub-cluster %d", ErrInvalidAssignment, i, s, z)
		}
		return nil
	}
	prev := -1
	for j, ix := range d.Index {
		i := int(ix)
		if i <= prev || i >= d.N {
			return fmt.Errorf("%w: delta index %d (image %d) out of order or outside [0,%d)", ErrInvalidAssignment, j, i, d.N)
		}
		prev = i
		if err := ok(i, d.Super[j], d.Sub[j]); err != nil {
			return err
		}
	}
	// Unchanged images must still agree with a new hierarchy.
	if a.M != d.M || !slices.Equal(a.SubParent, d.SubParent) {
		j := 0
		for i := range a.Super {
			if j < len(d.Index) && int(d.Index[j]) == i {
				j++
				continue
			}
			if err := ok(i, a.Super[i], a.Sub[i]); err != nil {
				return err
			}
		}
	}
	for j, ix := range d.Index {
		a.Super[ix] = d.Super[j]
		a.Sub[ix] = d.Sub[j]
	}
	a.M = d.M
	a.SubParent = slices.Clone(d.SubParent)
	a.Version = d.To
	return nil
}

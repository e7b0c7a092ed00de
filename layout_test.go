package deepercluster

import "testing"

func TestComputeFlow(t *testing.T) {
	a := &Assignment{Version: 1, M: 2, SubParent: []int32{0, 0, 1},
		Super: []int32{0, 0, 0, 1, 1}, Sub: []int32{0, 1, 1, 2, 2}}
	b := &Assignment{Version: 2, M: 1, SubParent: []int32{0, 0},
		Super: []int32{0, 0, 0, 0, 0}, Sub: []int32{1, 1, 0, 0, 0}}
	f, err := ComputeFlow(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []FlowLink{{0, 1, 1}, {1, 0, 1}, {1, 1, 1}, {2, 0, 2}}
	if f.From != 1 || f.To != 2 || f.Images != 5 || len(f.Links) != len(want) {
		t.Fatalf("flow %+v", f)
	}
	total := 0
	for i, l := range f.Links {
		if l != want[i] {
			t.Fatalf("link %d is %+v, want %+v", i, l, want[i])
		}
		total += l.Count
	}
	if total != 5 {
		t.Fatalf("links hold %d images, want 5", total)
	}
	if _, err := ComputeFlow(a, &Assignment{Sub: []int32{0}}); err == nil {
		t.Fatal("flow between versions of different sizes: no error")
	}
}

package deepercluster

import (
	"slices"
	"testing"
)

func TestGroupByLabel(t *testing.T) {
	tests := []struct {
		name      string
		labels    []int32
		n         int
		wantStart []int32
		wantOrder []int32
	}{
		{"empty", nil, 3, []int32{0, 0, 0, 0}, []int32{}},
		{"one group", []int32{0, 0, 0}, 1, []int32{0, 3}, []int32{0, 1, 2}},
		{"interleaved", []int32{2, 0, 2, 1, 0}, 3, []int32{0, 2, 3, 5}, []int32{1, 4, 3, 0, 2}},
		{"empty group kept", []int32{2, 2, 0}, 3, []int32{0, 1, 1, 3}, []int32{2, 0, 1}},
		{"out of range left out", []int32{-1, 1, 5, 0}, 2, []int32{0, 1, 2}, []int32{3, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, order := GroupByLabel(tt.labels, tt.n, nil, nil)
			if !slices.Equal(start, tt.wantStart) || !slices.Equal(order, tt.wantOrder) {
				t.Fatalf("GroupByLabel(%v, %d) = %v, %v; want %v, %v", tt.labels, tt.n, start, order, tt.wantStart, tt.wantOrder)
			}
		})
	}
}

func TestGroupByLabelReusesBuffers(t *testing.T) {
	start, order := GroupByLabel([]int32{1, 0, 1, 1}, 2, nil, nil)
	s2, o2 := GroupByLabel([]int32{0, 0, 1}, 2, start, order)
	if &s2[0] != &start[0] || &o2[0] != &order[0] {
		t.Fatal("buffers with enough capacity were not reused")
	}
	if !slices.Equal(s2, []int32{0, 2, 3}) || !slices.Equal(o2, []int32{0, 1, 2}) {
		t.Fatalf("got %v %v after reuse", s2, o2)
	}
}

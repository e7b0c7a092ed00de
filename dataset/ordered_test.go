package dataset

import (
	"errors"
	"slices"
	"testing"
)

func TestInOrder(t *testing.T) {
	tests := []struct {
		name     string
		arrivals []int // sequence numbers in the order they arrive
		failAt   int   // emit fails on this one; -1 never
		want     []int
		wantErr  bool
	}{
		{"in order", []int{0, 1, 2}, -1, []int{0, 1, 2}, false},
		{"reversed", []int{2, 1, 0}, -1, []int{0, 1, 2}, false},
		{"interleaved", []int{1, 0, 3, 4, 2}, -1, []int{0, 1, 2, 3, 4}, false},
		{"stops at a failure, drains the rest", []int{0, 2, 1, 3, 4}, 1, []int{0, 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			results := make(chan int, len(tt.arrivals))
			for _, s := range tt.arrivals {
				results <- s
			}
			close(results)
			var got []int
			err := InOrder(results, func(s int) int { return s }, func(s int) error {
				got = append(got, s)
				if s == tt.failAt {
					return errors.New("write failed")
				}
				return nil
			}, nil)
			if !slices.Equal(got, tt.want) || (err != nil) != tt.wantErr {
				t.Fatalf("emitted %v, err %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
			if len(results) != 0 {
				t.Fatalf("%d results left unread", len(results))
			}
		})
	}
}

func TestInOrderProgress(t *testing.T) {
	results := make(chan int, 40)
	for i := range 40 {
		results <- i
	}
	close(results)
	var reports []int
	if err := InOrder(results, func(s int) int { return s }, func(int) error { return nil }, func(done int) { reports = append(reports, done) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(reports, []int{16, 32}) {
		t.Fatalf("progress %v, want every 16", reports)
	}
}

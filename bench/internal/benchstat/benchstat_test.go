package benchstat

import "testing"

func TestPctl(t *testing.T) {
	cases := []struct {
		s    []float64
		p    float64
		want float64
	}{
		{nil, 0.5, 0},
		{[]float64{3, 1, 2}, 0, 1},
		{[]float64{3, 1, 2}, 0.5, 2},
		{[]float64{3, 1, 2}, 1, 3},
		{[]float64{5, 4, 3, 2, 1, 10, 9, 8, 7, 6}, 0.95, 10},
	}
	for _, c := range cases {
		s := append([]float64(nil), c.s...)
		if got := Pctl(c.s, c.p); got != c.want {
			t.Errorf("Pctl(%v, %v) = %v, want %v", c.s, c.p, got, c.want)
		}
		for i := range s {
			if s[i] != c.s[i] {
				t.Fatalf("Pctl reordered its input: %v", c.s)
			}
		}
	}
	if Round1(16.75) != 16.8 || Round1(33.349) != 33.3 {
		t.Errorf("Round1: %v %v", Round1(16.75), Round1(33.349))
	}
}

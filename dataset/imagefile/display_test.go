package imagefile

import (
	"testing"
)

func TestFitLongest(t *testing.T) {
	for _, tc := range [][5]int{{640, 480, 256, 256, 192}, {480, 640, 128, 96, 128}, {100, 50, 256, 100, 50}, {1000, 1, 100, 100, 1}, {300, 300, 128, 128, 128}} {
		if w, h := FitLongest(tc[0], tc[1], tc[2]); w != tc[3] || h != tc[4] {
			t.Errorf("FitLongest(%d, %d, %d) = %d, %d; want %d, %d", tc[0], tc[1], tc[2], w, h, tc[3], tc[4])
		}
	}
}

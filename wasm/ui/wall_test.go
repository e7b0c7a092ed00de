package ui

import (
	"math"
	"testing"
)

func TestLayoutWall(t *testing.T) {
	for _, tc := range []struct {
		name           string
		w, h           float64
		n              int
		minT, maxT     float64
		wantN          int
		wantTileAtLeas float64
	}{
		{"few images fill a square", 400, 400, 4, 8, 1000, 4, 200},
		{"many images fill a wide cell", 900, 300, 300, 8, 1000, 300, 29},
		{"one image capped", 500, 300, 1, 8, 96, 1, 96},
		{"more than fit at the least size", 100, 60, 10_000, 10, 100, 60, 10},
		{"cell under the least size", 5, 200, 10, 8, 100, 0, 0},
		{"prime count", 640, 480, 97, 4, 200, 97, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wl := LayoutWall(10, 20, 10+tc.w, 20+tc.h, tc.n, tc.minT, tc.maxT)
			if wl.N != tc.wantN {
				t.Fatalf("N %d, want %d (%+v)", wl.N, tc.wantN, wl)
			}
			if wl.N == 0 {
				return
			}
			if wl.Tile < tc.wantTileAtLeas || wl.Tile > tc.maxT {
				t.Fatalf("tile %v, want in [%v, %v]", wl.Tile, tc.wantTileAtLeas, tc.maxT)
			}
			// Inside the cell, every tile shown has a place.
			if wl.X < 10-1e-9 || wl.Y < 20-1e-9 || wl.X+float64(wl.Cols)*wl.Tile > 10+tc.w+1e-6 || wl.Y+float64(wl.Rows)*wl.Tile > 20+tc.h+1e-6 {
				t.Fatalf("grid %+v leaves the cell", wl)
			}
			if wl.Cols*wl.Rows < wl.N || wl.Cols*(wl.Rows-1) >= wl.N {
				t.Fatalf("%d x %d grid for %d tiles", wl.Cols, wl.Rows, wl.N)
			}
			// Optimal: a tile 2% larger would not fit all n (unless capped).
			if wl.N == tc.n && wl.Tile < tc.maxT {
				s := wl.Tile * 1.02
				if math.Floor(tc.w/s)*math.Floor(tc.h/s) >= float64(tc.n) {
					t.Fatalf("tile %v is not the largest: %v fits too", wl.Tile, s)
				}
			}
		})
	}
}

func TestBestTileAgainstSearch(t *testing.T) {
	for w := 20.0; w <= 300; w += 37 {
		for h := 15.0; h <= 260; h += 41 {
			for n := 1; n <= 200; n += 13 {
				// The definition, by trying every column count.
				want := 0.0
				for c := 1; c <= n; c++ {
					r := (n + c - 1) / c
					want = math.Max(want, math.Min(w/float64(c), h/float64(r)))
				}
				if got := bestTile(w, h, n); math.Abs(got-want) > 1e-9 {
					t.Fatalf("w %v h %v n %d: %v, want %v", w, h, n, got, want)
				}
			}
		}
	}
}

func TestWallVisibleAndAt(t *testing.T) {
	wl := Wall{X: -95, Y: 10, Tile: 10, Cols: 30, Rows: 5, N: 143}
	r0, r1, c0, c1 := wl.Visible(100, 30)
	if r0 != 0 || r1 != 2 || c0 != 9 || c1 != 20 {
		t.Fatalf("visible rows %d-%d cols %d-%d", r0, r1, c0, c1)
	}
	for _, tc := range []struct {
		x, y float64
		want int
	}{
		{-95, 10, 0}, {-84.5, 10, 1}, {5, 25, 40}, {-96, 10, -1}, {205, 10, -1}, {-95 + 235, 10 + 45, -1}, {-95 + 5, 10 + 45, 120},
	} {
		if got := wl.At(tc.x, tc.y); got != tc.want {
			t.Errorf("At(%v, %v) = %d, want %d", tc.x, tc.y, got, tc.want)
		}
	}
}

func TestBlitScalesAndClips(t *testing.T) {
	c := NewCanvas(6, 6)
	c.Clear(Color{0, 0, 0, 255})
	// A 2x2 image: red, green / blue, white.
	img := []byte{255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255}
	c.Blit(-1, 2, 4, img, 2)
	for _, tc := range []struct {
		x, y int
		want Color
	}{
		{0, 2, Color{255, 0, 0, 255}}, {1, 3, Color{0, 255, 0, 255}}, {2, 3, Color{0, 255, 0, 255}},
		{0, 4, Color{0, 0, 255, 255}}, {2, 5, Color{255, 255, 255, 255}}, {3, 3, Color{0, 0, 0, 255}}, {0, 1, Color{0, 0, 0, 255}},
	} {
		if got := c.At(tc.x, tc.y); got != tc.want {
			t.Errorf("pixel (%d,%d) = %v, want %v", tc.x, tc.y, got, tc.want)
		}
	}
}

func TestBlitRotTurnsClockwise(t *testing.T) {
	// A 2x2 image: red, green / blue, white.
	img := []byte{255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255}
	red, green, blue, white := Color{255, 0, 0, 255}, Color{0, 255, 0, 255}, Color{0, 0, 255, 255}, Color{255, 255, 255, 255}
	for _, tc := range []struct {
		rot                int
		tl, tr, bl, bottom Color
	}{
		{0, red, green, blue, white},
		{1, blue, red, white, green},
		{2, white, blue, green, red},
		{3, green, white, red, blue},
	} {
		c := NewCanvas(2, 2)
		c.BlitRot(0, 0, 2, img, 2, tc.rot)
		if c.At(0, 0) != tc.tl || c.At(1, 0) != tc.tr || c.At(0, 1) != tc.bl || c.At(1, 1) != tc.bottom {
			t.Errorf("rot %d: %v %v / %v %v", tc.rot, c.At(0, 0), c.At(1, 0), c.At(0, 1), c.At(1, 1))
		}
	}
}

func TestBlitDimHalves(t *testing.T) {
	c := NewCanvas(1, 1)
	c.BlitRotDim(0, 0, 1, []byte{200, 101, 7}, 1, 0, true)
	if got := c.At(0, 0); got != (Color{100, 50, 3, 255}) {
		t.Fatalf("dimmed pixel %v", got)
	}
}

func TestThumbPx(t *testing.T) {
	for _, tc := range []struct {
		tile float64
		res  int
		want int
	}{{5, 32, 8}, {8.3, 32, 8}, {20, 32, 24}, {40, 32, 32}, {200, 64, 64}, {30, 16, 16},
		{100, 256, 128}, {150, 256, 160}, {400, 256, 160}, {70, 80, 80}} {
		if got := ThumbPx(tc.tile, tc.res); got != tc.want {
			t.Errorf("ThumbPx(%v, %d) = %d, want %d", tc.tile, tc.res, got, tc.want)
		}
	}
}

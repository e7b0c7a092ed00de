package main

import (
	"testing"

	"github.com/deepercluster/deepercluster/trainer"
)

// TestTrainFLOPs pins the count for the bench network at 32 px, worked out
// by hand: convolutions 3*forward less conv1_1's input gradient, fc layers
// 3*forward.
func TestTrainFLOPs(t *testing.T) {
	conv := []float64{1024 * 27 * 16, 1024 * 144 * 16, 256 * 144 * 32, 256 * 288 * 32, 64 * 288 * 64, 64 * 576 * 64}
	want := 0.0
	for i, v := range conv {
		want += 3 * 2 * v
		if i == 0 {
			want -= 2 * v
		}
	}
	want += 3 * 2 * (1024*128 + 128*128)
	if got := trainFLOPs(trainer.DefaultModelConfig(32)); got != want {
		t.Fatalf("trainFLOPs = %v, want %v", got, want)
	}
	// at 64 px every layer has 4x the pixels; fc1 sees 4x the inputs
	want64 := 4*(want-3*2*(1024*128+128*128)) + 3*2*(4096*128+128*128)
	if got := trainFLOPs(trainer.DefaultModelConfig(64)); got != want64 {
		t.Fatalf("64 px: trainFLOPs = %v, want %v", got, want64)
	}
	sob := trainer.DefaultModelConfig(32)
	sob.Sobel = true
	fwd, first := convFLOPs(sob)
	if first != 2*1024*27*2 || fwd <= first {
		t.Fatalf("sobel: forward %v, first %v", fwd, first)
	}
}

package ui

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkDrawFullView draws a 100,000-sub-cluster map at the view that
// shows all of it, the client's most expensive frame.
func BenchmarkDrawFullView(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	a := synth(rng, 1_000_000, 100, 1000)
	var st Stable
	in, _, _ := a.input(&st, 1)
	tm := Build(in, R(0, 0, 1280, 800), ModeSuperClusters)
	c := NewCanvas(1280, 800)
	style := &Style{T: 1, Hover: -1, Selected: -1, MinBig: 44, MaxBig: 400}
	var big []Big
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, big = Draw(c, tm, Identity(), style, big)
	}
}

// BenchmarkBuild lays out 100,000 sub-clusters of a million images.
func BenchmarkBuild(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	a := synth(rng, 1_000_000, 100, 1000)
	var st Stable
	in, _, _ := a.input(&st, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Build(in, R(0, 0, 1280, 800), ModeSuperClusters)
	}
}

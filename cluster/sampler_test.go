package cluster

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSamplerQuotas(t *testing.T) {
	// Label sizes: 0 -> 1000, 1 -> 3, 2 -> 0 (empty), 3 -> 50, 4 -> 7.
	sizes := []int{1000, 3, 0, 50, 7}
	var labels []int32
	for l, s := range sizes {
		for range s {
			labels = append(labels, int32(l))
		}
	}
	rand.New(rand.NewPCG(9, 9)).Shuffle(len(labels), func(i, j int) { labels[i], labels[j] = labels[j], labels[i] })
	const epoch = 100
	quota := epoch/4 + 1 // 4 non-empty labels
	draws := drawQuota(labels, len(sizes), epoch, rand.New(rand.NewPCG(1, 1)))
	counts := make([]int, len(sizes))
	seen := make([]map[int32]int, len(sizes))
	for l := range seen {
		seen[l] = map[int32]int{}
	}
	for _, i := range draws {
		l := labels[i]
		counts[l]++
		seen[l][i]++
	}
	for l, s := range sizes {
		want := quota
		if s == 0 {
			want = 0
		}
		if counts[l] != want {
			t.Errorf("label %d (size %d): %d draws, want %d", l, s, counts[l], want)
		}
		if s >= quota {
			for i, c := range seen[l] {
				if c > 1 {
					t.Errorf("label %d has %d >= quota images but image %d was drawn %d times", l, s, i, c)
				}
			}
		}
	}
	if len(seen[1]) > 3 || len(seen[4]) > 7 {
		t.Errorf("small labels drew images that are not theirs")
	}

	got := SampleUniform(labels, len(sizes), epoch, 42)
	if len(got) != epoch {
		t.Fatalf("SampleUniform returned %d indices, want %d", len(got), epoch)
	}
	per := make([]int, len(sizes))
	for _, i := range got {
		per[labels[i]]++
	}
	for l, s := range sizes {
		// At most one image per label is cut by the truncation to epoch.
		if s > 0 && (per[l] < quota-len(sizes) || per[l] > quota) {
			t.Errorf("label %d: %d images in the epoch, want about %d", l, per[l], quota)
		}
	}
	if !slices.Equal(got, SampleUniform(labels, len(sizes), epoch, 42)) {
		t.Fatal("same seed, different epochs")
	}
	if slices.Equal(got, SampleUniform(labels, len(sizes), epoch, 43)) {
		t.Fatal("different seeds, same epoch")
	}
}

func TestSamplerEdgeCases(t *testing.T) {
	if got := SampleUniform(nil, 3, 10, 1); len(got) != 0 {
		t.Fatalf("no images: got %v", got)
	}
	if got := SampleUniform([]int32{0, 1}, 2, 0, 1); len(got) != 0 {
		t.Fatalf("epoch 0: got %v", got)
	}
	// Out-of-range labels are ignored.
	got := SampleUniform([]int32{-1, 5, 0}, 2, 4, 1)
	for _, i := range got {
		if i != 2 {
			t.Fatalf("drew image %d whose label is out of range", i)
		}
	}
}

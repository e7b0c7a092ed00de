package cluster

import "math/rand/v2"

// SampleUniform draws one epoch of image indices uniformly over labels, so
// that huge clusters cannot dominate training (docs/ARCHITECTURE.md, "The method"; after
// DeepCluster's UnifLabelSampler): every non-empty label gets a quota of
// epochSize/nonEmpty + 1 of its images, drawn without replacement when the
// label has at least that many images and with replacement only when it has
// fewer. The draws are shuffled and the first epochSize returned (the quota
// overshoots by fewer than one image per label). labels[i] is image i's
// label in [0, nLabels); labels outside that range are ignored. The result
// depends only on the arguments. It is empty when no label has an image or
// epochSize <= 0.
func SampleUniform(labels []int32, nLabels int, epochSize int, seed uint64) []int32 {
	rng := rand.New(rand.NewPCG(seed, 0x73616d706c65))
	out := drawQuota(labels, nLabels, epochSize, rng)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	if len(out) > epochSize {
		out = out[:epochSize]
	}
	return out
}

// drawQuota returns, label after label, the quota of images of every
// non-empty label.
func drawQuota(labels []int32, nLabels, epochSize int, rng *rand.Rand) []int32 {
	if nLabels <= 0 || epochSize <= 0 {
		return nil
	}
	groups := make([][]int32, nLabels)
	for i, l := range labels {
		if l >= 0 && int(l) < nLabels {
			groups[l] = append(groups[l], int32(i))
		}
	}
	nonEmpty := 0
	for _, g := range groups {
		if len(g) > 0 {
			nonEmpty++
		}
	}
	if nonEmpty == 0 {
		return nil
	}
	quota := epochSize/nonEmpty + 1
	out := make([]int32, 0, quota*nonEmpty)
	for _, g := range groups {
		switch {
		case len(g) == 0:
		case len(g) < quota:
			for q := 0; q < quota; q++ {
				out = append(out, g[rng.IntN(len(g))])
			}
		default:
			// Partial Fisher-Yates: the first quota of a random permutation.
			for q := 0; q < quota; q++ {
				j := q + rng.IntN(len(g)-q)
				g[q], g[j] = g[j], g[q]
			}
			out = append(out, g[:quota]...)
		}
	}
	return out
}

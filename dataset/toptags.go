package dataset

import (
	"github.com/deepercluster/deepercluster"
)

// TopTags counts, for every user tag, the images that carry it, and returns
// the n most frequent (most frequent first, ties by tag; all when n < 0).
// Datasets that already know their top tags (a dataset directory's
// manifest) answer without decoding every record.
func TopTags(ds deepercluster.Dataset, n int) []deepercluster.TagCount {
	if k, ok := ds.(interface {
		TopTags(n int) ([]deepercluster.TagCount, bool)
	}); ok && n >= 0 {
		if tc, ok := k.TopTags(n); ok {
			return tc
		}
	}
	counts := map[string]int{}
	seen := map[string]bool{}
	for i := range ds.Len() {
		clear(seen)
		for _, t := range ds.Meta(i).Tags {
			if t != "" && !seen[t] {
				seen[t] = true
				counts[t]++
			}
		}
	}
	return topOfCounts(counts, n)
}

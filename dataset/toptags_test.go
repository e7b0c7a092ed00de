package dataset_test

import (
	"slices"
	"testing"

	"github.com/deepercluster/deepercluster/dataset"
	"github.com/deepercluster/deepercluster/dataset/source"
)

func TestTopTagsCountsImages(t *testing.T) {
	ds, err := source.Open(source.SpecSynthetic, source.Options{N: 300, Resolution: 16})
	if err != nil {
		t.Fatal(err)
	}
	top := dataset.TopTags(ds, 5)
	if len(top) == 0 {
		t.Fatal("no tags")
	}
	// Recount the first tag by hand.
	n := 0
	for i := range ds.Len() {
		if slices.Contains(ds.Meta(i).Tags, top[0].Tag) {
			n++
		}
	}
	if n != top[0].Count {
		t.Errorf("tag %q counted %d, carried by %d images", top[0].Tag, top[0].Count, n)
	}
	for i := 1; i < len(top); i++ {
		if top[i].Count > top[i-1].Count {
			t.Errorf("not sorted: %v", top)
		}
	}
	all := dataset.TopTags(ds, -1)
	if len(all) < len(top) {
		t.Errorf("all tags %d < top %d", len(all), len(top))
	}
}

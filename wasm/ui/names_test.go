package ui

import (
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster"
)

func TestClusterName(t *testing.T) {
	sums := []deepercluster.ClusterSummary{
		{Keywords: []string{"surf"}, TopTags: []deepercluster.TagCount{{Tag: "beach"}}},
		{TopTags: []deepercluster.TagCount{{Tag: "snow"}}},
		{},
	}
	cases := []struct {
		note string
		z    int32
		want string
	}{
		{"", 0, "#surf"},      // keyword first
		{"", 1, "#snow"},      // then top tag
		{"", 2, ""},           // nothing known: the caller shows the id
		{"", 9, ""},           // past the summaries
		{"", -1, ""},          // no cluster
		{"waves", 0, "waves"}, // a user's name wins
		{"cold", 7, "cold"},   // even without summaries
	}
	for _, c := range cases {
		if got := ClusterName(c.note, sums, c.z); got != c.want {
			t.Errorf("ClusterName(%q, z=%d) = %q, want %q", c.note, c.z, got, c.want)
		}
	}
}

// stableFixture is two versions of 12 images, 2 super-clusters, 4
// sub-clusters, the second with sub-cluster ids permuted, so Stable's keys
// differ from the ids.
func stableFixture(t *testing.T) (*Stable, []int32, Input) {
	t.Helper()
	var st Stable
	sup := []int32{0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1}
	sub := []int32{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3}
	parent := []int32{0, 0, 1, 1}
	st.Update(1, sup, sub, 2, parent)
	sup2 := []int32{1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0}
	sub2 := []int32{3, 3, 3, 2, 2, 2, 1, 1, 1, 0, 0, 0}
	parent2 := []int32{0, 0, 1, 1}
	st.Update(2, sup2, sub2, 2, parent2)
	in := Input{M: 2, SubParent: parent2, SuperSize: []int{6, 6}, SubSize: []int{3, 3, 3, 3},
		SuperRank: st.SuperRank, SubRank: st.SubRank, SuperKey: st.SuperKey, SubKey: st.SubKey}
	return &st, parent2, in
}

// TestClusterColorIsTheTreemaps: the map and the flow view colour a
// cluster exactly as the treemap's cell, also when the colour keys are not
// the ids.
func TestClusterColorIsTheTreemaps(t *testing.T) {
	st, parent, in := stableFixture(t)
	keysDiffer := false
	for z := range st.SubKey {
		keysDiffer = keysDiffer || st.SubKey[z] != uint32(z)
	}
	if !keysDiffer {
		t.Fatal("fixture: the keys equal the ids, the test would prove nothing")
	}
	tm := Build(in, Rect{0, 0, 400, 300}, ModeSuperClusters)
	for z := range int32(4) {
		cell := tm.Nodes[tm.SubNode[z]].Color
		if got := ClusterColor(st, parent, z); got != cell {
			t.Errorf("sub-cluster %d: ClusterColor %v, treemap cell %v", z, got, cell)
		}
	}
	for s := range int32(2) {
		if got, cell := SuperClusterColor(st, s), tm.Nodes[tm.SuperNode[s]].Color; got != cell {
			t.Errorf("super-cluster %d: SuperClusterColor %v, treemap cell %v", s, got, cell)
		}
	}
}

func TestFlowStyles(t *testing.T) {
	st, parent, _ := stableFixture(t)
	// v1 -> v2: old 0 -> new 3 (all 3 images), old 1 -> new 2, old 2 -> new 1
	// (2 images) and new 0 (1), old 3 -> new 0.
	l := LayoutFlow(FlowInput{
		Links:      []FlowLink{{0, 3, 3}, {1, 2, 3}, {2, 1, 2}, {2, 0, 1}, {3, 0, 3}},
		FromParent: []int32{0, 0, 1, 1}, ToParent: parent,
	}, 300, 4)
	names := map[int32]string{3: "#surf", 1: "dogs"} // 0 and 2 have no name yet
	name := func(id int32) string { return names[id] }
	color := func(id int32) Color { return ClusterColor(st, parent, id) }

	left, right := FlowStyles(l, false, true, false, name, color)
	for i, n := range l.Right {
		want := names[n.ID]
		if want == "" {
			want = "c" + itoa32(n.ID)
		}
		if right[i].Name != want || right[i].Color != ClusterColor(st, parent, n.ID) {
			t.Errorf("right node %d: %+v, want %q in the treemap's colour", n.ID, right[i], want)
		}
	}
	wantLeft := map[int32]string{0: "#surf", 1: "c1", 2: "dogs", 3: "c3"} // the successor's name, else its own id
	succ := map[int32]int32{0: 3, 1: 2, 2: 1, 3: 0}
	for i, n := range l.Left {
		if left[i].Name != wantLeft[n.ID] || left[i].Color != ClusterColor(st, parent, succ[n.ID]) {
			t.Errorf("left node %d: %+v, want %q in the colour of new cluster %d", n.ID, left[i], wantLeft[n.ID], succ[n.ID])
		}
	}
	// Neither column current: ids, as before there is a current version.
	left, right = FlowStyles(l, false, false, true, name, color)
	if left[0].Name[0] != 's' || right[0].Name[0] != 's' || strings.HasPrefix(right[0].Name, "#") {
		t.Errorf("super-level, no current column: %q %q, want s<id>", left[0].Name, right[0].Name)
	}
}

func itoa32(i int32) string { return string(rune('0' + i)) }

func TestSearchScoreLabel(t *testing.T) {
	cases := []struct {
		score float64
		want  string
	}{
		{239.45, "score 239"},
		{12.345, "score 12.3"},
		{0, "score 0.0"},
	}
	for _, c := range cases {
		if got := SearchScoreLabel(c.score); got != c.want {
			t.Errorf("SearchScoreLabel(%v) = %q, want %q", c.score, got, c.want)
		}
	}
	if !strings.Contains(SearchScoreTitle, "ln(lift)") {
		t.Error("the score's tooltip does not say how it is computed")
	}
}

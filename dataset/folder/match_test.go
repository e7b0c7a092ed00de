package folder

import (
	"fmt"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster/dataset"
)

// TestMatchRowsAmbiguousID: a row whose id names two images (a.jpg and
// a.png, by path or by name) is reported with the table's line and the
// files, and matched to neither; ids and files that name one image still
// match.
func TestMatchRowsAmbiguousID(t *testing.T) {
	files := []folderFile{{rel: "a.jpg"}, {rel: "a.png"}, {rel: "b.jpg"}, {rel: "x/c.jpg"}, {rel: "y/c.webp"}, {rel: "x/d.jpg"}}
	cases := []struct {
		name    string
		row     TableRow
		want    string // file matched, "" none
		problem string // in the problems, "" none
	}{
		{"id of one file", TableRow{Line: 2, ID: "b"}, "b.jpg", ""},
		{"id of a.jpg and a.png", TableRow{Line: 3, ID: "a"}, "", "meta.csv line 3: field id: a matches 2 images (a.jpg, a.png)"},
		{"name in two folders", TableRow{Line: 4, ID: "c"}, "", "meta.csv line 4: field id: c matches 2 images (x/c.jpg, y/c.webp)"},
		{"path without extension", TableRow{Line: 5, ID: "x/c"}, "x/c.jpg", ""},
		{"name in one folder", TableRow{Line: 6, ID: "d"}, "x/d.jpg", ""},
		{"file column decides", TableRow{Line: 7, File: "a.png"}, "a.png", ""},
		{"no such id", TableRow{Line: 8, ID: "zz"}, "", "meta.csv line 8: field file: id zz: no such image"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var m dataset.Manifest
			work, probs := matchRows("meta.csv", files, []TableRow{c.row}, &m)
			got := ""
			for _, w := range work {
				if w.row != nil {
					got = w.file.rel
				}
			}
			if got != c.want {
				t.Errorf("matched %q, want %q", got, c.want)
			}
			var msgs []string
			for _, e := range probs.First {
				if !strings.Contains(e.Error(), "no row in") {
					msgs = append(msgs, e.Error())
				}
			}
			all := strings.Join(msgs, "\n")
			if c.problem == "" && all != "" || c.problem != "" && !strings.Contains(all, c.problem) {
				t.Errorf("problems %q, want %q", all, c.problem)
			}
			if c.problem != "" && len(msgs) != 1 {
				t.Errorf("%d problems for one row: %s", len(msgs), fmt.Sprint(msgs))
			}
		})
	}
}

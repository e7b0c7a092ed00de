package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster"
	"github.com/parquet-go/parquet-go"
)

// testTable is 10 images in 2 super-clusters and 4 sub-clusters, a note on
// sub-cluster 1, tags on the even images, and (as asked) a layout and 3-wide
// features.
func testTable(layout, features bool) *Table {
	const n = 10
	a := &deepercluster.Assignment{Version: 7, Super: make([]int32, n), Sub: make([]int32, n)}
	for i := range n {
		a.Super[i], a.Sub[i] = int32(i%4/2), int32(i%4)
	}
	t := &Table{A: a, Notes: map[int32]Note{1: {Name: "dogs, mostly", Verdict: "good", Text: "a \"note\""}},
		Tags: func(i int) []string {
			if i%2 == 0 {
				return []string{"tag " + string(rune('a'+i)), "x|y"}
			}
			return nil
		}}
	if layout {
		t.X, t.Y = make([]float32, n), make([]float32, n)
		for i := range n {
			t.X[i], t.Y[i] = float32(i)+0.25, -float32(i)
		}
	}
	if features {
		t.Dim = 3
		t.Features = make([]float32, n*3)
		for i := range t.Features {
			t.Features[i] = float32(i) / 8
		}
	}
	return t
}

func TestParquetReadBack(t *testing.T) {
	cases := []struct {
		name             string
		layout, features bool
		sel              []int32
		wantCols         []string
	}{
		{"plain", false, false, nil, []string{"id", "super", "sub", "tags", "cluster_name", "verdict", "note", "x", "y"}},
		{"layout", true, false, nil, []string{"id", "super", "sub", "tags", "cluster_name", "verdict", "note", "x", "y"}},
		{"features selection", true, true, []int32{1, 4, 9}, []string{"id", "super", "sub", "tags", "cluster_name", "verdict", "note", "x", "y", "features"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tab := testTable(c.layout, c.features)
			var buf bytes.Buffer
			if err := Write(context.Background(), &buf, Parquet, tab, c.sel); err != nil {
				t.Fatal(err)
			}
			f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				t.Fatalf("parquet-go cannot open our file: %v", err)
			}
			want := len(tab.A.Super)
			if c.sel != nil {
				want = len(c.sel)
			}
			if f.NumRows() != int64(want) {
				t.Fatalf("%d rows, want %d", f.NumRows(), want)
			}
			fields := f.Schema().Fields()
			var names []string
			for _, fl := range fields {
				names = append(names, fl.Name())
			}
			if strings.Join(names, ",") != strings.Join(c.wantCols, ",") {
				t.Fatalf("columns %v, want %v", names, c.wantCols)
			}
			// Types: id INT64, super/sub INT32, tags LIST<STRING>, x,y optional FLOAT, features LIST<FLOAT>.
			types := map[string]string{}
			for _, fl := range fields {
				types[fl.Name()] = typeName(fl)
			}
			wantTypes := map[string]string{"id": "INT64", "super": "INT32", "sub": "INT32", "tags": "LIST<STRING>",
				"cluster_name": "optional STRING", "x": "optional FLOAT", "y": "optional FLOAT"}
			if c.features {
				wantTypes["features"] = "LIST<FLOAT>"
			}
			for k, v := range wantTypes {
				if types[k] != v {
					t.Errorf("column %s is %s, want %s", k, types[k], v)
				}
			}
			rows := readBack(t, buf.Bytes(), c.features)
			for j, r := range rows {
				i := j
				if c.sel != nil {
					i = int(c.sel[j])
				}
				if r.ID != int64(i) || r.Super != tab.A.Super[i] || r.Sub != tab.A.Sub[i] {
					t.Fatalf("row %d: id %d super %d sub %d, want %d %d %d", j, r.ID, r.Super, r.Sub, i, tab.A.Super[i], tab.A.Sub[i])
				}
				if want := tab.Tags(i); strings.Join(r.Tags, ";") != strings.Join(want, ";") {
					t.Errorf("row %d tags %q, want %q", i, r.Tags, want)
				}
				if (r.ClusterName != nil) != (tab.A.Sub[i] == 1) || (r.ClusterName != nil && (*r.ClusterName != "dogs, mostly" || *r.Note != "a \"note\"")) {
					t.Errorf("row %d note %v, want it only on sub-cluster 1", i, r.ClusterName)
				}
				if c.layout != (r.X != nil) || (r.X != nil && (*r.X != tab.X[i] || *r.Y != tab.Y[i])) {
					t.Errorf("row %d x %v y %v, want layout %v", i, r.X, r.Y, c.layout)
				}
				if c.features {
					if len(r.Features) != 3 || r.Features[2] != tab.Features[i*3+2] {
						t.Errorf("row %d features %v, want %v", i, r.Features, tab.Features[i*3:i*3+3])
					}
				}
			}
		})
	}
}

// readBack reads the rows of file with parquet-go, into the row type of its
// schema.
func readBack(t *testing.T, file []byte, features bool) []parquetFeatureRow {
	t.Helper()
	if features {
		rows, err := parquet.Read[parquetFeatureRow](bytes.NewReader(file), int64(len(file)))
		if err != nil {
			t.Fatalf("read rows: %v", err)
		}
		return rows
	}
	rows, err := parquet.Read[parquetRow](bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatalf("read rows: %v", err)
	}
	out := make([]parquetFeatureRow, len(rows))
	for j, p := range rows {
		out[j] = parquetFeatureRow{p.ID, p.Super, p.Sub, p.Tags, p.ClusterName, p.Verdict, p.Note, p.X, p.Y, nil}
	}
	return out
}

// typeName names a column's type as the test writes it.
func typeName(n parquet.Node) string {
	opt := ""
	if n.Optional() {
		opt = "optional "
	}
	lt := ""
	if l := n.Type().LogicalType(); l != nil {
		lt = l.String()
	}
	switch lt {
	case "LIST":
		elem := n.Fields()[0].Fields()[0]
		return opt + "LIST<" + typeName(elem) + ">"
	case "STRING":
		return opt + "STRING"
	}
	return opt + n.Type().Kind().String()
}

func TestCSVAndJSONLSameRows(t *testing.T) {
	tab := testTable(true, true)
	var cb, jb bytes.Buffer
	if err := Write(context.Background(), &cb, CSV, tab, nil); err != nil {
		t.Fatal(err)
	}
	if err := Write(context.Background(), &jb, JSONL, tab, nil); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&cb).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], ","); got != "id,super,sub,tags,cluster_name,verdict,note,x,y,features" {
		t.Fatalf("csv header %s", got)
	}
	lines := strings.Split(strings.TrimSpace(jb.String()), "\n")
	if len(recs)-1 != 10 || len(lines) != 10 {
		t.Fatalf("%d csv rows, %d jsonl rows, want 10", len(recs)-1, len(lines))
	}
	var r jsonRow
	if err := json.Unmarshal([]byte(lines[5]), &r); err != nil {
		t.Fatal(err)
	}
	if r.Note == nil || r.Note.Name != recs[6][4] || recs[6][9] != "1.875 2 2.125" || len(r.Features) != 3 || r.Features[0] != 1.875 {
		t.Errorf("row 5: csv %q, jsonl %+v", recs[6], r)
	}
	if recs[1][3] != "tag a|x|y" {
		t.Errorf("row 0 tags %q", recs[1][3])
	}
}

func TestWriteRefuses(t *testing.T) {
	cases := []struct {
		name, format string
		tab          *Table
		sel          []int32
		want         string
	}{
		{"format", "xlsx", testTable(false, false), nil, `format "xlsx"`},
		{"short layout", CSV, &Table{A: testTable(false, false).A, X: []float32{1}, Y: []float32{1}}, nil, "layout has 1 x"},
		{"features width", Parquet, &Table{A: testTable(false, false).A, Features: make([]float32, 7), Dim: 3}, nil, "7 feature values"},
		{"id", JSONL, testTable(false, false), []int32{3, 10}, "id 10"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Write(context.Background(), &bytes.Buffer{}, c.format, c.tab, c.sel)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one naming %q", err, c.want)
			}
		})
	}
}

func TestWriteStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Write(ctx, &bytes.Buffer{}, Parquet, testTable(true, false), nil); err != context.Canceled {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

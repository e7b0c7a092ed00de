package server

import (
	"bytes"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// TestExportParquet reads GET /api/export?format=parquet back with
// parquet-go: one row per image with its clusters, the note of its
// sub-cluster, x and y from the published layout and, with &features=1,
// the features the server holds.
func TestExportParquet(t *testing.T) {
	// Under 2*layoutK images, so no computed layout replaces the published one.
	const n, d = 25, 6
	ds := testDataset(t, n)
	ts := startServer(t, Config{}, ds, nil)
	u := ts.ts.URL
	a := assignmentFor(1, n, 2, 3, 1, 0)
	ts.s.OnAssignment(a)
	waitVersion(t, ts.s, 1)

	// Before features: features=1 is a 503 naming "features".
	status, body, _ := do(t, "GET", u+"/api/export?format=parquet&features=1", "", nil)
	if status != http.StatusServiceUnavailable || body["field"] != "features" {
		t.Fatalf("features before any: %d %v, want 503 naming features", status, body)
	}
	status, body, _ = do(t, "GET", u+"/api/export?format=parquet&features=maybe", "", nil)
	if status != http.StatusBadRequest || body["field"] != "features" {
		t.Fatalf("features=maybe: %d %v, want 400 naming features", status, body)
	}

	f := unitFeatures(1, n, d, 3)
	ts.s.OnFeatures(f)
	deadline := time.Now().Add(20 * time.Second)
	for ts.s.similarIndex() == nil {
		if time.Now().After(deadline) {
			t.Fatal("features never indexed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := ts.s.PublishLayout(testLayout(1, n)); err != nil {
		t.Fatal(err)
	}
	z := a.Sub[4]
	if st, _, _ := do(t, "PUT", u+"/api/clusters/"+strconv.Itoa(int(a.Super[4]))+"/"+strconv.Itoa(int(z))+"/note", `{"name":"boats","verdict":"good","text":"t"}`, nil); st != 200 {
		t.Fatalf("note: %d", st)
	}

	type prow struct {
		ID          int64     `parquet:"id"`
		Super       int32     `parquet:"super"`
		Sub         int32     `parquet:"sub"`
		Tags        []string  `parquet:"tags,list"`
		ClusterName *string   `parquet:"cluster_name,optional"`
		X           *float32  `parquet:"x,optional"`
		Y           *float32  `parquet:"y,optional"`
		Features    []float32 `parquet:"features,list"`
	}
	cases := []struct {
		name, query string
		ids         []int
		features    bool
	}{
		{"every image", "", nil, false},
		{"features", "&features=1", nil, true},
		{"selection", "&ids=9,4", []int{4, 9}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, raw := send(t, "GET", u+"/api/export?format=parquet"+c.query, "", nil)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.apache.parquet" {
				t.Fatalf("%d %q %.200s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
			}
			pf, err := parquet.OpenFile(bytes.NewReader(raw), int64(len(raw)))
			if err != nil {
				t.Fatalf("parquet-go cannot open the answer: %v", err)
			}
			hasF := false
			for _, fl := range pf.Schema().Fields() {
				hasF = hasF || fl.Name() == "features"
			}
			if hasF != c.features {
				t.Fatalf("features column %v, want %v", hasF, c.features)
			}
			rows, err := parquet.Read[prow](bytes.NewReader(raw), int64(len(raw)))
			if err != nil {
				t.Fatal(err)
			}
			ids := c.ids
			if ids == nil {
				for i := range n {
					ids = append(ids, i)
				}
			}
			if len(rows) != len(ids) {
				t.Fatalf("%d rows, want %d", len(rows), len(ids))
			}
			for j, r := range rows {
				i := ids[j]
				if r.ID != int64(i) || r.Super != a.Super[i] || r.Sub != a.Sub[i] || len(r.Tags) != len(ds.Meta(i).Tags) {
					t.Fatalf("row %d: %+v, want image %d in %d/%d", j, r, i, a.Super[i], a.Sub[i])
				}
				if r.X == nil || *r.X != float32(i) || *r.Y != float32(-2*i) {
					t.Fatalf("row %d: x %v y %v, want (%d,%d)", j, r.X, r.Y, i, -2*i)
				}
				if (r.ClusterName != nil) != (r.Sub == z) || (r.ClusterName != nil && *r.ClusterName != "boats") {
					t.Fatalf("row %d: cluster_name %v, want boats only on sub-cluster %d", j, r.ClusterName, z)
				}
				if c.features && (len(r.Features) != d || r.Features[d-1] != f.Data[i*d+d-1]) {
					t.Fatalf("row %d: features %v, want %v", j, r.Features, f.Data[i*d:(i+1)*d])
				}
			}
		})
	}
}

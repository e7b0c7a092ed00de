package export

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// duckdbScript is the DuckDB reader, run with node; scripts/install-deps.sh
// installs its npm package beside it.
const duckdbScript = "../scripts/duckdb/duckdb_check.mjs"

// TestParquetReadByDuckDB has DuckDB (npm @duckdb/node-api, the engine
// Embedding Atlas runs on) read a Parquet export: row count, column names
// and DuckDB's types (checked by the script), and a few values (here).
// Without node or the package it fails under CI=1 and skips elsewhere.
func TestParquetReadByDuckDB(t *testing.T) {
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat("../scripts/duckdb/node_modules/@duckdb/node-api/package.json")
	}
	if err != nil {
		msg := fmt.Sprintf("DuckDB reader not installed (run scripts/install-deps.sh: node and npm @duckdb/node-api in scripts/duckdb/node_modules): %v", err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	cases := []struct {
		name             string
		layout, features bool
		columns          string
	}{
		{"no layout", false, false, "id:BIGINT,super:INTEGER,sub:INTEGER,tags:VARCHAR[],cluster_name:VARCHAR,verdict:VARCHAR,note:VARCHAR,x:FLOAT,y:FLOAT"},
		{"layout and features", true, true, "id:BIGINT,super:INTEGER,sub:INTEGER,tags:VARCHAR[],cluster_name:VARCHAR,verdict:VARCHAR,note:VARCHAR,x:FLOAT,y:FLOAT,features:FLOAT[]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tab := testTable(c.layout, c.features)
			path := filepath.Join(t.TempDir(), "it's.parquet") // a quote in the name, as users have
			var buf bytes.Buffer
			if err := Write(context.Background(), &buf, Parquet, tab, nil); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(node, duckdbScript, path, "--rows", "10", "--columns", c.columns, "--sample", "2")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("duckdb_check: %v\n%s\n%s", err, out, stderr.String())
			}
			var got struct {
				Rows   int
				Sample []struct {
					ID          string `json:"id"`
					Super, Sub  int32
					Tags        []string `json:"tags"`
					ClusterName *string  `json:"cluster_name"`
					X           *float32 `json:"x"`
					Features    []float32
				}
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("duckdb_check printed %q: %v", out, err)
			}
			if got.Rows != 10 || len(got.Sample) != 2 {
				t.Fatalf("%d rows, %d sampled", got.Rows, len(got.Sample))
			}
			r0, r1 := got.Sample[0], got.Sample[1]
			if r0.ID != "0" || r1.ID != "1" || r1.Super != tab.A.Super[1] || r1.Sub != tab.A.Sub[1] {
				t.Errorf("ids/clusters %+v %+v", r0, r1)
			}
			if strings.Join(r0.Tags, ";") != "tag a;x|y" || len(r1.Tags) != 0 {
				t.Errorf("tags %q %q, want [tag a x|y] and []", r0.Tags, r1.Tags)
			}
			if r0.ClusterName != nil || r1.ClusterName == nil || *r1.ClusterName != "dogs, mostly" {
				t.Errorf("cluster_name %v %v, want null and the note on sub-cluster 1", r0.ClusterName, r1.ClusterName)
			}
			if c.layout != (r1.X != nil) || (r1.X != nil && *r1.X != 1.25) {
				t.Errorf("x %v, want 1.25 with a layout, null without", r1.X)
			}
			if c.features && (len(r1.Features) != 3 || r1.Features[0] != 0.375) {
				t.Errorf("features %v, want [0.375 0.5 0.625]", r1.Features)
			}
		})
	}
}

package server

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/deepercluster/deepercluster"
)

// moved is a copy of a (as the next version) with f applied to every
// image's sub-cluster; super-clusters follow SubParent.
func moved(a *deepercluster.Assignment, version uint32, f func(i int, z int32) int32) *deepercluster.Assignment {
	b := &deepercluster.Assignment{Version: version, M: a.M, SubParent: slices.Clone(a.SubParent),
		Super: make([]int32, len(a.Sub)), Sub: make([]int32, len(a.Sub))}
	for i, z := range a.Sub {
		b.Sub[i] = f(i, z)
		b.Super[i] = b.SubParent[b.Sub[i]]
	}
	return b
}

// clusterNote reads the note of sub-cluster z from GET /api/clusters.
func clusterNote(t *testing.T, u string, z int32) map[string]any {
	t.Helper()
	status, body, _ := do(t, "GET", u+"/api/clusters", "", nil)
	if status != 200 {
		t.Fatalf("clusters: %d %v", status, body)
	}
	var found map[string]any
	for _, s := range body["supers"].([]any) {
		for _, sub := range s.(map[string]any)["subs"].([]any) {
			o := sub.(map[string]any)
			if n, ok := o["note"].(map[string]any); ok {
				if int32(o["sub"].(float64)) != z {
					t.Fatalf("a note on sub-cluster %v, want it only on %d: %v", o["sub"], z, n)
				}
				found = n
			}
		}
	}
	return found
}

func TestNotesFollowClustersAndSurviveRestart(t *testing.T) {
	const n = 400
	dir := t.TempDir()
	ds := testDataset(t, n)
	ts := startServer(t, Config{DataDir: dir}, ds, nil)
	u := ts.ts.URL
	v1 := assignmentFor(1, n, 2, 4, 5, 0) // subs 0-3 in super 0, 4-7 in super 1
	ts.s.OnAssignment(v1)
	waitVersion(t, ts.s, 1)

	for _, c := range []struct {
		name, path, body string
		status           int
		field            string
	}{
		{"bad verdict", "/api/clusters/0/1/note", `{"name":"x","verdict":"great"}`, 400, "verdict"},
		{"unknown field", "/api/clusters/0/1/note", `{"title":"x"}`, 400, "title"},
		{"name too long", "/api/clusters/0/1/note", `{"name":"` + strings.Repeat("n", 81) + `"}`, 400, "name"},
		{"two lines", "/api/clusters/0/1/note", `{"text":"a\nb"}`, 400, "text"},
		{"wrong type", "/api/clusters/0/1/note", `{"name":3}`, 400, "name"},
		{"not JSON", "/api/clusters/0/1/note", `{`, 400, ""},
		{"sub of another super", "/api/clusters/1/1/note", `{"name":"x"}`, 404, "sub"},
		{"sub out of range", "/api/clusters/0/99/note", `{"name":"x"}`, 404, "sub"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, body, _ := do(t, "PUT", u+c.path, c.body, http.Header{"Content-Type": {"application/json"}})
			if status != c.status || body["error"] == "" {
				t.Fatalf("status %d, want %d: %v", status, c.status, body)
			}
			if f, _ := body["field"].(string); f != c.field {
				t.Fatalf("field %q, want %q: %v", f, c.field, body)
			}
		})
	}

	status, body, _ := do(t, "PUT", u+"/api/clusters/0/1/note", `{"name":"red boats","verdict":"good","text":"harbours at dusk"}`, nil)
	if status != 200 {
		t.Fatalf("put note: %d %v", status, body)
	}
	if n := clusterNote(t, u, 1); n == nil || n["name"] != "red boats" || n["verdict"] != "good" || n["text"] != "harbours at dusk" {
		t.Fatalf("note in /api/clusters: %v", n)
	}
	status, body, _ = do(t, "GET", u+"/api/notes", "", nil)
	if notes, _ := body["notes"].([]any); status != 200 || len(notes) != 1 ||
		notes[0].(map[string]any)["name"] != "red boats" || notes[0].(map[string]any)["sub"] != 1.0 || notes[0].(map[string]any)["super"] != 0.0 {
		t.Fatalf("/api/notes: %d %v", status, body)
	}
	if _, err := os.Stat(filepath.Join(dir, NotesFile)); err != nil {
		t.Fatalf("the note is not on disk: %v", err)
	}
	// The export carries the note on every image of the cluster.
	checkExport(t, u, v1, 1, "red boats")

	// v2: sub-clusters 1 and 2 swap ids (no alignment held): the note
	// goes with its images.
	v2 := moved(v1, 2, func(_ int, z int32) int32 {
		switch z {
		case 1:
			return 2
		case 2:
			return 1
		}
		return z
	})
	ts.s.OnAssignment(v2)
	waitVersion(t, ts.s, 2)
	if n := clusterNote(t, u, 2); n == nil || n["name"] != "red boats" || !strings.Contains(n["lineage"].(string), "was 1") {
		t.Fatalf("after the swap: %v", n)
	}

	// v3: 40% of the cluster's images go to sub-cluster 3: it split.
	v3 := moved(v2, 3, func(i int, z int32) int32 {
		if z == 2 && i%5 < 2 {
			return 3
		}
		return z
	})
	ts.s.OnAssignment(v3)
	waitVersion(t, ts.s, 3)
	nt := clusterNote(t, u, 2)
	if nt == nil || !strings.Contains(nt["lineage"].(string), "split") || !slices.Equal(jsonInts(nt["split"]), []int32{3}) {
		t.Fatalf("after the split: %v", nt)
	}

	// v4: every image of sub-cluster 0 joins it: merged.
	v4 := moved(v3, 4, func(_ int, z int32) int32 {
		if z == 0 {
			return 2
		}
		return z
	})
	ts.s.OnAssignment(v4)
	waitVersion(t, ts.s, 4)
	nt = clusterNote(t, u, 2)
	if nt == nil || !strings.Contains(nt["lineage"].(string), "merged") || !slices.Equal(jsonInts(nt["merged"]), []int32{0}) {
		t.Fatalf("after the merge: %v", nt)
	}

	// A restart: a new server on the same directory has the note, and it
	// still follows (v5 moves the cluster to id 3, with no previous
	// version in memory).
	ts.ts.Close()
	ts.stop()
	<-ts.done
	ts2 := startServer(t, Config{DataDir: dir}, ds, nil)
	ts2.s.OnAssignment(v4)
	waitVersion(t, ts2.s, 4)
	if n := clusterNote(t, ts2.ts.URL, 2); n == nil || n["name"] != "red boats" || n["verdict"] != "good" {
		t.Fatalf("after a restart: %v", n)
	}
	v5 := moved(v4, 5, func(_ int, z int32) int32 {
		switch z {
		case 2:
			return 3
		case 3:
			return 2
		}
		return z
	})
	ts2.s.OnAssignment(v5)
	waitVersion(t, ts2.s, 5)
	if n := clusterNote(t, ts2.ts.URL, 3); n == nil || n["name"] != "red boats" {
		t.Fatalf("after a restart and a new version: %v", n)
	}
	checkExport(t, ts2.ts.URL, v5, 3, "red boats")

	// v6: the cluster scatters over eight: none keeps half of its
	// images, none takes a fifth; the note still says it split.
	v6 := moved(v5, 6, func(i int, z int32) int32 {
		if z == 3 {
			return int32(i % 8)
		}
		return z
	})
	ts2.s.OnAssignment(v6)
	waitVersion(t, ts2.s, 6)
	nt = clusterNoteAny(t, ts2.ts.URL)
	if nt == nil {
		t.Fatal("the note was lost when its cluster scattered")
	}
	if l := nt["lineage"].(string); !strings.Contains(l, "split") || !strings.Contains(l, "spread over") || len(jsonInts(nt["split"])) != 0 {
		t.Fatalf("after scattering: %v", nt)
	}

	// An empty note removes it.
	home := int32(nt["sub"].(float64))
	status, body, _ = do(t, "PUT", ts2.ts.URL+"/api/clusters/"+strconv.Itoa(int(v6.SubParent[home]))+"/"+strconv.Itoa(int(home))+"/note",
		`{"name":"","verdict":"","text":""}`, nil)
	if status != 200 || clusterNoteAny(t, ts2.ts.URL) != nil {
		t.Fatalf("remove: %d %v", status, body)
	}
}

// clusterNoteAny is the one note of GET /api/clusters, wherever it is.
func clusterNoteAny(t *testing.T, u string) map[string]any {
	t.Helper()
	_, body, _ := do(t, "GET", u+"/api/clusters", "", nil)
	for _, s := range body["supers"].([]any) {
		for _, sub := range s.(map[string]any)["subs"].([]any) {
			if n, ok := sub.(map[string]any)["note"].(map[string]any); ok {
				return n
			}
		}
	}
	return nil
}

func jsonInts(v any) []int32 {
	var out []int32
	arr, _ := v.([]any)
	for _, x := range arr {
		out = append(out, int32(x.(float64)))
	}
	return out
}

// checkExport reads both exports: the rows of sub-cluster z carry the
// note's name, the others none.
func checkExport(t *testing.T, u string, a *deepercluster.Assignment, z int32, name string) {
	t.Helper()
	for _, format := range []string{"csv", "jsonl"} {
		resp, raw := send(t, "GET", u+"/api/export?format="+format, "", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("export %s: %d", format, resp.StatusCode)
		}
		sc := bufio.NewScanner(strings.NewReader(string(raw)))
		row := -1
		for sc.Scan() {
			row++
			var id int
			var got string
			if format == "csv" {
				if row == 0 {
					continue
				}
				f := strings.Split(sc.Text(), ",")
				id = row - 1
				got = f[4]
			} else {
				var r struct {
					ID   int
					Note *struct{ Name string }
				}
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					t.Fatal(err)
				}
				id = r.ID
				if r.Note != nil {
					got = r.Note.Name
				}
			}
			want := ""
			if a.Sub[id] == z {
				want = name
			}
			if got != want {
				t.Fatalf("export %s: image %d (sub %d) has note %q, want %q", format, id, a.Sub[id], got, want)
			}
		}
	}
}

func TestNoteTokenRules(t *testing.T) {
	const n = 100
	for _, c := range []struct {
		name   string
		token  string
		header http.Header
		status int
		field  string
	}{
		{"no token needed on loopback", "", nil, 200, ""},
		{"foreign origin", "", http.Header{"Origin": {"http://evil.example"}}, 403, "origin"},
		{"token missing", "s3cret", nil, 401, "token"},
		{"token wrong", "s3cret", http.Header{"Authorization": {"Bearer nope"}}, 403, "token"},
		{"token right", "s3cret", http.Header{"Authorization": {"Bearer s3cret"}}, 200, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := startServer(t, Config{Token: c.token}, testDataset(t, n), nil)
			ts.s.OnAssignment(assignmentFor(1, n, 2, 2, 1, 0))
			waitVersion(t, ts.s, 1)
			status, body, _ := do(t, "PUT", ts.ts.URL+"/api/clusters/0/0/note", `{"name":"a"}`, c.header)
			if status != c.status {
				t.Fatalf("status %d, want %d: %v", status, c.status, body)
			}
			if f, _ := body["field"].(string); f != c.field {
				t.Fatalf("field %q, want %q", f, c.field)
			}
		})
	}
}

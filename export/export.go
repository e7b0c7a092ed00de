// Package export writes the rows of a clustering (one per image: its
// clusters, tags, the note of its sub-cluster, its place on the 2D map and,
// on request, its feature vector) as CSV, JSON Lines or Parquet. It is the
// one row builder behind both GET/POST /api/export (server/api_export.go)
// and `deepercluster export` (a run directory, no server), so the two
// answer the same columns with the same values.
package export

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/deepercluster/deepercluster"
)

// The formats Write takes, by the names of ?format= and --format.
const (
	CSV     = "csv"
	JSONL   = "jsonl"
	Parquet = "parquet"
)

// Formats lists the formats, for error messages and flag help.
const Formats = "csv, jsonl or parquet"

// CheckFormat says whether format is one Write takes, so a caller can refuse
// a bad one before it reads anything else.
func CheckFormat(format string) error {
	switch format {
	case CSV, JSONL, Parquet:
		return nil
	}
	return fmt.Errorf("format %q: want %s", format, Formats)
}

// ContentType is the media type of format, for an HTTP answer.
func ContentType(format string) string {
	switch format {
	case CSV:
		return "text/csv; charset=utf-8"
	case JSONL:
		return "application/x-ndjson"
	}
	return "application/vnd.apache.parquet"
}

// Note is the note on a sub-cluster that every row of that sub-cluster
// carries (the server's notes.json, kept by cluster id).
type Note struct {
	Name    string `json:"name"`
	Verdict string `json:"verdict"`
	Text    string `json:"text"`
}

// Table is what the rows are built from. Only A is required; whatever else
// is missing leaves its columns empty (CSV), absent (JSONL) or null
// (Parquet), so an export never fails for want of a layout or of notes.
type Table struct {
	// A is the clustering: one row per image.
	A *deepercluster.Assignment
	// Tags gives image i's tags; nil when the dataset is not at hand.
	Tags func(i int) []string
	// Notes are the notes of A's sub-clusters, by sub-cluster id.
	Notes map[int32]Note
	// X and Y are the images' places on the 2D map, len(A.Super) each, or
	// nil when no layout is known.
	X, Y []float32
	// Features, when not nil, adds the feature vector of each image (row
	// i is Features[i*Dim:(i+1)*Dim]): a list<float> column in Parquet, a
	// "features" array in JSONL, a space-separated "features" column in
	// CSV.
	Features []float32
	Dim      int
}

// Validate checks that the optional parts cover every image of A, so Write
// never indexes past them.
func (t *Table) Validate() error {
	if t.A == nil {
		return fmt.Errorf("export: no assignment")
	}
	n := len(t.A.Super)
	if len(t.A.Sub) != n {
		return fmt.Errorf("export: assignment v%d has %d super and %d sub ids", t.A.Version, n, len(t.A.Sub))
	}
	if (t.X == nil) != (t.Y == nil) || (t.X != nil && (len(t.X) != n || len(t.Y) != n)) {
		return fmt.Errorf("export: layout has %d x and %d y for %d images", len(t.X), len(t.Y), n)
	}
	if t.Features != nil && (t.Dim <= 0 || len(t.Features) != n*t.Dim) {
		return fmt.Errorf("export: %d feature values are not %d images x dim %d", len(t.Features), n, t.Dim)
	}
	return nil
}

// row is one image's row, the same for every format.
type row struct {
	ID       int
	Super    int32
	Sub      int32
	Tags     []string
	Note     *Note
	X, Y     *float32
	Features []float32
}

// row builds image i's row.
func (t *Table) row(i int) row {
	r := row{ID: i, Super: t.A.Super[i], Sub: t.A.Sub[i]}
	if t.Tags != nil {
		r.Tags = t.Tags(i)
	}
	if n, ok := t.Notes[r.Sub]; ok {
		r.Note = &n
	}
	if t.X != nil {
		r.X, r.Y = &t.X[i], &t.Y[i]
	}
	if t.Features != nil {
		r.Features = t.Features[i*t.Dim : (i+1)*t.Dim]
	}
	return r
}

// Write writes the rows of the images sel names (increasing ids, each once;
// nil for every image) to w in format. It checks ctx every 4,096 rows and
// stops with its error, so a client that went away stops the work; a
// million rows are streamed, never held as one answer (Parquet holds one
// row group, 65,536 rows, at a time).
func Write(ctx context.Context, w io.Writer, format string, t *Table, sel []int32) error {
	if err := CheckFormat(format); err != nil {
		return err
	}
	if err := t.Validate(); err != nil {
		return err
	}
	n := len(t.A.Super)
	for _, id := range sel {
		if id < 0 || int(id) >= n {
			return fmt.Errorf("export: id %d is not an image id in [0,%d)", id, n)
		}
	}
	if sel != nil {
		n = len(sel)
	}
	each := func(yield func(j int, r row) error) error {
		for j := range n {
			i := j
			if sel != nil {
				i = int(sel[j])
			}
			if j%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := yield(j, t.row(i)); err != nil {
				return err
			}
		}
		return nil
	}
	switch format {
	case Parquet:
		return writeParquet(w, t, n, each)
	case CSV:
		return writeCSV(w, t, each)
	}
	return writeJSONL(w, each)
}

// formatFloat writes f as the shortest decimal that reads back as the same
// float32.
func formatFloat(f float32) string { return strconv.FormatFloat(float64(f), 'g', -1, 32) }

// writeCSV writes a header and one record per row. Tags are joined by "|"
// (they may hold spaces and commas); x and y are columns only when the
// table has a layout, features only when it has features.
func writeCSV(w io.Writer, t *Table, each func(func(int, row) error) error) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	head := []string{"id", "super", "sub", "tags", "cluster_name", "verdict", "note"}
	if t.X != nil {
		head = append(head, "x", "y")
	}
	if t.Features != nil {
		head = append(head, "features")
	}
	if err := cw.Write(head); err != nil {
		return fmt.Errorf("export csv: %w", err)
	}
	var sb strings.Builder
	err := each(func(_ int, r row) error {
		rec := []string{strconv.Itoa(r.ID), strconv.Itoa(int(r.Super)), strconv.Itoa(int(r.Sub)), strings.Join(r.Tags, "|"), "", "", ""}
		if r.Note != nil {
			rec[4], rec[5], rec[6] = r.Note.Name, r.Note.Verdict, r.Note.Text
		}
		if r.X != nil {
			rec = append(rec, formatFloat(*r.X), formatFloat(*r.Y))
		}
		if t.Features != nil {
			sb.Reset()
			for k, v := range r.Features {
				if k > 0 {
					sb.WriteByte(' ')
				}
				sb.WriteString(formatFloat(v))
			}
			rec = append(rec, sb.String())
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("export csv: row of image %d: %w", r.ID, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export csv: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export csv: %w", err)
	}
	return nil
}

// jsonRow is a row of JSON Lines: tags always a list, note, x, y and
// features absent when unknown.
type jsonRow struct {
	ID       int       `json:"id"`
	Super    int32     `json:"super"`
	Sub      int32     `json:"sub"`
	Tags     []string  `json:"tags"`
	Note     *Note     `json:"note,omitempty"`
	X        *float32  `json:"x,omitempty"`
	Y        *float32  `json:"y,omitempty"`
	Features []float32 `json:"features,omitempty"`
}

// writeJSONL writes one JSON object per line.
func writeJSONL(w io.Writer, each func(func(int, row) error) error) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	je := json.NewEncoder(bw)
	err := each(func(_ int, r row) error {
		tags := r.Tags
		if tags == nil {
			tags = []string{}
		}
		if err := je.Encode(jsonRow{r.ID, r.Super, r.Sub, tags, r.Note, r.X, r.Y, r.Features}); err != nil {
			return fmt.Errorf("export jsonl: row of image %d: %w", r.ID, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export jsonl: %w", err)
	}
	return nil
}

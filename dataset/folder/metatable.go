package folder

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/deepercluster/deepercluster/dataset"
)

// TableRow is one row of a metadata table that goes with a folder of
// images (ReadMetaTable). Columns other than the known ones are kept in
// Extra.
type TableRow struct {
	// Line is where the row is: the line of a CSV, TSV or JSONL file
	// (1-based, a CSV header is line 1), the row number of a Parquet file
	// (1-based).
	Line int
	// ID is the image's id; File its path relative to the images folder.
	// A row needs one of them: rows are matched to files by File, or else
	// by ID against the file's path or name without extension.
	ID, File           string
	Title, Description string
	User               string
	// Date is when the photo was taken, zero when absent.
	Date time.Time
	// Label is a ground-truth class name, "" when absent.
	Label string
	Tags  []string
	Extra map[string]string
}

// The table formats ReadMetaTable knows, by file extension.
var metaTableExts = map[string]string{
	".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
}

// MaxTableRowBytes is the longest CSV, TSV or JSONL line read.
const MaxTableRowBytes = 1 << 20

// dateLayouts are the date forms a table's date column may use.
var dateLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04:05.0",
	"2006:01:02 15:04:05", "2006-01-02", "2006/01/02",
}

// ReadMetaTable reads a metadata table: CSV or TSV with a header row,
// JSONL (one object per line) or Parquet, chosen by the file's extension.
// Known columns are id, file, tags (a list, or a string split on commas),
// title, description, date, user and label; others are kept as Extra.
// A row that cannot be read, or that has neither id nor file, is counted
// in bad (with file, line and field) and skipped; a bad date is counted
// and the row kept without it. The error is for a file that cannot be read
// at all.
func ReadMetaTable(ctx context.Context, path string) (rows []TableRow, bad dataset.Problems, err error) {
	kind, ok := metaTableExts[strings.ToLower(filepath.Ext(path))]
	if !ok {
		return nil, bad, fmt.Errorf("metadata table %s: unknown format (want .csv, .tsv, .jsonl or .parquet)", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, bad, fmt.Errorf("metadata table: %w", err)
	}
	defer f.Close()
	unit := "line"
	if kind == "parquet" {
		unit = "row"
	}
	add := func(line int, fields map[string]any) {
		r, err := tableRow(fmt.Sprintf("%s %s %d", path, unit, line), line, fields, &bad)
		if err != nil {
			bad.Add(err)
			return
		}
		rows = append(rows, r)
	}
	switch kind {
	case "csv", "tsv":
		err = readDelimited(ctx, f, path, kind == "tsv", add, &bad)
	case "jsonl":
		err = readJSONL(ctx, f, path, add, &bad)
	case "parquet":
		err = readParquet(ctx, f, path, add)
	}
	return rows, bad, err
}

func readDelimited(ctx context.Context, f io.Reader, path string, tsv bool, add func(int, map[string]any), bad *dataset.Problems) error {
	cr := csv.NewReader(bufio.NewReaderSize(f, 1<<16))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	if tsv {
		cr.Comma = '\t'
		cr.LazyQuotes = true
	}
	head, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return fmt.Errorf("metadata table %s line 1: header: %w", path, err)
	}
	cols := make([]string, len(head))
	for i, h := range head {
		cols[i] = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
	}
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			bad.Add(fmt.Errorf("%s line %d: %v", path, pe.Line, pe.Err))
			continue
		}
		if err != nil {
			return fmt.Errorf("metadata table %s: %w", path, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(cols) {
			bad.Add(fmt.Errorf("%s line %d: %d fields, the header has %d", path, line, len(rec), len(cols)))
			continue
		}
		fields := make(map[string]any, len(cols))
		for i, c := range cols {
			if c != "" && rec[i] != "" {
				fields[c] = rec[i]
			}
		}
		add(line, fields)
	}
}

func readJSONL(ctx context.Context, f io.Reader, path string, add func(int, map[string]any), bad *dataset.Problems) error {
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), MaxTableRowBytes)
	line := 0
	for sc.Scan() {
		line++
		if line%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal(b, &obj); err != nil {
			bad.Add(fmt.Errorf("%s line %d: not a JSON object: %v", path, line, err))
			continue
		}
		fields := make(map[string]any, len(obj))
		for k, v := range obj {
			fields[strings.ToLower(k)] = v
		}
		add(line, fields)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("metadata table %s after line %d: %w", path, line, err)
	}
	return nil
}

// readParquet reads every row of a Parquet file whatever its schema: each
// leaf column belongs to the top-level field it is under, and the values
// of a repeated column (a list) are gathered.
func readParquet(ctx context.Context, f *os.File, path string, add func(int, map[string]any)) error {
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("metadata table: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return fmt.Errorf("metadata table %s: not a Parquet file: %w", path, err)
	}
	cols := pf.Schema().Columns()
	top := make([]string, len(cols))
	for i, c := range cols {
		top[i] = strings.ToLower(c[0])
	}
	line := 0
	buf := make([]parquet.Row, 256)
	for _, rg := range pf.RowGroups() {
		rr := rg.Rows()
		for {
			if ctx.Err() != nil {
				rr.Close()
				return ctx.Err()
			}
			n, err := rr.ReadRows(buf)
			for _, row := range buf[:n] {
				line++
				fields := map[string]any{}
				for _, v := range row {
					c := v.Column()
					if c < 0 || c >= len(top) || v.IsNull() {
						continue
					}
					s := parquetString(v)
					name := top[c]
					switch old := fields[name].(type) {
					case nil:
						if isRepeated(pf.Schema(), cols[c]) {
							fields[name] = []any{s}
						} else {
							fields[name] = s
						}
					case []any:
						fields[name] = append(old, s)
					case string:
						fields[name] = []any{old, s}
					}
				}
				add(line, fields)
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				rr.Close()
				return fmt.Errorf("metadata table %s row %d: %w", path, line+1, err)
			}
		}
		rr.Close()
	}
	return nil
}

// isRepeated tells whether the column at path is, or is inside, a
// repeated or list field.
func isRepeated(s *parquet.Schema, path []string) bool {
	var node parquet.Node = s
	for _, name := range path {
		var next parquet.Node
		for _, fl := range node.Fields() {
			if fl.Name() == name {
				next = fl
				break
			}
		}
		if next == nil {
			return false
		}
		if next.Repeated() {
			return true
		}
		node = next
	}
	return false
}

// parquetString is a Parquet value as text.
func parquetString(v parquet.Value) string {
	switch v.Kind() {
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray())
	case parquet.Boolean:
		return strconv.FormatBool(v.Boolean())
	case parquet.Int32, parquet.Int64:
		return strconv.FormatInt(v.Int64(), 10)
	case parquet.Float:
		return strconv.FormatFloat(float64(v.Float()), 'g', -1, 32)
	case parquet.Double:
		return strconv.FormatFloat(v.Double(), 'g', -1, 64)
	}
	return v.String()
}

// tableRow turns one row's fields (lower-cased column names) into a
// TableRow; where names the file and line (or row), and the error names
// it and the field.
func tableRow(where string, line int, fields map[string]any, bad *dataset.Problems) (TableRow, error) {
	r := TableRow{Line: line}
	for k, v := range fields {
		var err error
		switch k {
		case "tags":
			r.Tags, err = tagList(v)
		case "id", "file", "title", "description", "user", "label", "date":
			var s string
			s, err = scalar(v)
			s = strings.TrimSpace(s)
			switch k {
			case "id":
				r.ID = s
			case "file":
				r.File = s
			case "title":
				r.Title = s
			case "description":
				r.Description = s
			case "user":
				r.User = s
			case "label":
				r.Label = s
			case "date":
				if err == nil && s != "" {
					if r.Date, err = parseDate(s); err != nil {
						bad.Add(fmt.Errorf("%s: field date: %v (row kept without a date)", where, err))
						err = nil
					}
				}
			}
		default:
			var s string
			if s, err = scalarOrList(v); err == nil && s != "" {
				if r.Extra == nil {
					r.Extra = map[string]string{}
				}
				r.Extra[k] = s
			}
		}
		if err != nil {
			return r, fmt.Errorf("%s: field %s: %v", where, k, err)
		}
	}
	if r.File == "" && r.ID == "" {
		return r, fmt.Errorf("%s: field file: empty, and no id either (a row needs one to find its image)", where)
	}
	if r.File != "" {
		clean := filepath.ToSlash(filepath.Clean(filepath.FromSlash(r.File)))
		if filepath.IsAbs(r.File) || clean == ".." || strings.HasPrefix(clean, "../") {
			return r, fmt.Errorf("%s: field file: %q is not a path inside the images folder", where, r.File)
		}
		r.File = clean
	}
	return r, nil
}

// scalar is a JSON or text value as a string.
func scalar(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case []any:
		if len(x) == 1 {
			return scalar(x[0])
		}
	}
	return "", fmt.Errorf("a %T where a single value is wanted", v)
}

// scalarOrList is a value as text, a list joined with ", ".
func scalarOrList(v any) (string, error) {
	if l, ok := v.([]any); ok {
		parts := make([]string, 0, len(l))
		for _, e := range l {
			s, err := scalar(e)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ", "), nil
	}
	if m, ok := v.(map[string]any); ok {
		b, err := json.Marshal(m)
		return string(b), err
	}
	return scalar(v)
}

// tagList is a tags value: a list, or a string split on commas.
func tagList(v any) ([]string, error) {
	var raw []string
	switch x := v.(type) {
	case nil:
	case string:
		raw = strings.Split(x, ",")
	case []any:
		for _, e := range x {
			s, err := scalar(e)
			if err != nil {
				return nil, fmt.Errorf("list element: %v", err)
			}
			raw = append(raw, s)
		}
	default:
		return nil, fmt.Errorf("a %T where a list or a comma-separated string is wanted", v)
	}
	var out []string
	for _, t := range raw {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func parseDate(s string) (time.Time, error) {
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (want e.g. 2019-07-14 or 2019-07-14T10:30:00Z)", s)
}

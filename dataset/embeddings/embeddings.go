// Package embeddings reads features that another model computed for a
// dataset's images (`serve --features FILE`), so the explorer clusters
// and shows them without training: a NumPy .npy matrix with one row per
// image in the dataset's order, or a Parquet table with an id column and
// a list<float> column (docs/ARCHITECTURE.md, "Features from the network
// or from a file"). Every bad input is refused with one line that names
// the file and what is wrong.
package embeddings

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/deepercluster/deepercluster"
	"github.com/deepercluster/deepercluster/internal/npy"
)

// DefaultColumn is the Parquet column of the vectors unless named.
const DefaultColumn = "embedding"

// Matrix is N x Dim features, row-major, row i for image i of the dataset.
type Matrix struct {
	N, Dim int
	Data   []float32
}

// Load reads the features of ds's images from path: .npy (N x D float32,
// rows in ds's order) or .parquet (an "id" column matching ds's photo ids,
// the vectors in column, DefaultColumn when empty).
func Load(ctx context.Context, path string, ds deepercluster.Dataset, column string) (*Matrix, error) {
	var m *Matrix
	var err error
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".npy":
		m, err = loadNPY(path, ds.Len())
	case ".parquet":
		if column == "" {
			column = DefaultColumn
		}
		m, err = loadParquet(ctx, path, ds, column)
	default:
		return nil, fmt.Errorf("features %s: unknown format %q (want .npy or .parquet)", path, ext)
	}
	if err != nil {
		return nil, err
	}
	name := func(i int) string { return "row " + strconv.Itoa(i) }
	if strings.ToLower(filepath.Ext(path)) != ".npy" {
		name = func(i int) string { return "id " + quote(ds.Meta(i).PhotoID) }
	}
	if err := checkFinite(path, m, name); err != nil {
		return nil, err
	}
	return m, nil
}

func loadNPY(path string, n int) (*Matrix, error) {
	rows, cols, data, err := npy.Read[float32](path)
	if err != nil {
		return nil, fmt.Errorf("features %s: %w (want an N x D float32 .npy)", path, err)
	}
	if rows != n {
		return nil, fmt.Errorf("features %s: %d rows, the dataset has %d images (one row per image, in the dataset's order)", path, rows, n)
	}
	if cols < 1 {
		return nil, fmt.Errorf("features %s: rows of %d values", path, cols)
	}
	return &Matrix{N: rows, Dim: cols, Data: data}, nil
}

// checkFinite refuses NaN and infinite values, naming the rows.
func checkFinite(path string, m *Matrix, name func(int) string) error {
	var bad []int
	for i := range m.N {
		for _, v := range m.Data[i*m.Dim : (i+1)*m.Dim] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				bad = append(bad, i)
				break
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("features %s: %d rows hold NaN or infinite values: %s", path, len(bad), firstFew(bad, name))
	}
	return nil
}

// firstFew lists up to five items and says how many more there are.
func firstFew[T any](v []T, str func(T) string) string {
	var b strings.Builder
	for i, x := range v[:min(5, len(v))] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(str(x))
	}
	if len(v) > 5 {
		fmt.Fprintf(&b, " and %d more", len(v)-5)
	}
	return b.String()
}

func quote(s string) string { return strconv.Quote(s) }

// idIndex maps a dataset's photo ids, and their names without extension
// where that names one image only, to image indexes.
func idIndex(ds deepercluster.Dataset) map[string]int {
	ids := make(map[string]int, ds.Len())
	stems := map[string]int{}
	for i := range ds.Len() {
		id := ds.Meta(i).PhotoID
		if id == "" {
			id = strconv.Itoa(i)
		}
		ids[id] = i
		if stem := strings.TrimSuffix(id, filepath.Ext(id)); stem != id {
			if _, dup := stems[stem]; dup {
				stems[stem] = -1
			} else {
				stems[stem] = i
			}
		}
	}
	for s, i := range stems {
		if _, taken := ids[s]; !taken && i >= 0 {
			ids[s] = i
		}
	}
	return ids
}

func loadParquet(ctx context.Context, path string, ds deepercluster.Dataset, column string) (*Matrix, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("features: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("features: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("features %s: not a Parquet file: %w", path, err)
	}
	idCol, vecCol := -1, -1
	var names []string
	for i, c := range pf.Schema().Columns() {
		names = append(names, strings.Join(c, "."))
		switch {
		case strings.EqualFold(c[0], "id") && len(c) == 1:
			idCol = i
		case c[0] == column:
			vecCol = i
		}
	}
	if idCol < 0 || vecCol < 0 {
		return nil, fmt.Errorf("features %s: want an \"id\" column and a list<float> column %q (--features-column), the file has %s", path, column, strings.Join(names, ", "))
	}
	ids := idIndex(ds)
	n := ds.Len()
	m := &Matrix{N: n}
	seen := make([]bool, n)
	var unknown, dups []string
	var vec []float32
	row := 0
	buf := make([]parquet.Row, 256)
	for _, rg := range pf.RowGroups() {
		rr := rg.Rows()
		for {
			if err := ctx.Err(); err != nil {
				rr.Close()
				return nil, err
			}
			k, rerr := rr.ReadRows(buf)
			for _, r := range buf[:k] {
				row++
				id, hasID := "", false
				vec = vec[:0]
				for _, v := range r {
					switch c := v.Column(); {
					case v.IsNull():
					case c == idCol:
						id, hasID = valueString(v), true
					case c == vecCol:
						switch v.Kind() {
						case parquet.Float:
							vec = append(vec, v.Float())
						case parquet.Double:
							vec = append(vec, float32(v.Double()))
						default:
							rr.Close()
							return nil, fmt.Errorf("features %s: column %q holds %v values, want float or double", path, column, v.Kind())
						}
					}
				}
				if !hasID {
					rr.Close()
					return nil, fmt.Errorf("features %s row %d: no id", path, row)
				}
				i, ok := ids[id]
				if !ok {
					unknown = append(unknown, id)
					continue
				}
				if seen[i] {
					dups = append(dups, id)
					continue
				}
				if m.Dim == 0 {
					if len(vec) == 0 {
						rr.Close()
						return nil, fmt.Errorf("features %s row %d (id %q): an empty vector in column %q", path, row, id, column)
					}
					m.Dim = len(vec)
					m.Data = make([]float32, n*m.Dim)
				}
				if len(vec) != m.Dim {
					rr.Close()
					return nil, fmt.Errorf("features %s row %d (id %q): %d values in column %q, the rows before have %d", path, row, id, len(vec), column, m.Dim)
				}
				seen[i] = true
				copy(m.Data[i*m.Dim:], vec)
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				rr.Close()
				return nil, fmt.Errorf("features %s row %d: %w", path, row+1, rerr)
			}
		}
		rr.Close()
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("features %s: %d ids are not in the dataset: %s", path, len(unknown), firstFew(unknown, quote))
	}
	if len(dups) > 0 {
		return nil, fmt.Errorf("features %s: %d ids appear more than once: %s", path, len(dups), firstFew(dups, quote))
	}
	var missing []string
	for i, ok := range seen {
		if !ok {
			missing = append(missing, ds.Meta(i).PhotoID)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("features %s: %d of the dataset's %d images have no row: %s", path, len(missing), n, firstFew(missing, quote))
	}
	return m, nil
}

// valueString is a Parquet id value as text.
func valueString(v parquet.Value) string {
	switch v.Kind() {
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray())
	case parquet.Int32, parquet.Int64:
		return strconv.FormatInt(v.Int64(), 10)
	}
	return v.String()
}

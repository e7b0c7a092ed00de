package export

import (
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

// parquetRow is a Parquet row: the CSV's columns with their natural types
// (tags a list<string>, no "|" to split), and x, y always present, null
// when no layout is known, so a reader's schema does not depend on the
// server's state. cluster_name, verdict and note are null where the
// sub-cluster has no note.
type parquetRow struct {
	ID          int64    `parquet:"id"`
	Super       int32    `parquet:"super"`
	Sub         int32    `parquet:"sub"`
	Tags        []string `parquet:"tags,list"`
	ClusterName *string  `parquet:"cluster_name,optional"`
	Verdict     *string  `parquet:"verdict,optional"`
	Note        *string  `parquet:"note,optional"`
	X           *float32 `parquet:"x,optional"`
	Y           *float32 `parquet:"y,optional"`
}

// parquetFeatureRow is parquetRow with the feature vector, a list<float>
// column (what Embedding Atlas and FiftyOne read as an embedding).
type parquetFeatureRow struct {
	ID          int64     `parquet:"id"`
	Super       int32     `parquet:"super"`
	Sub         int32     `parquet:"sub"`
	Tags        []string  `parquet:"tags,list"`
	ClusterName *string   `parquet:"cluster_name,optional"`
	Verdict     *string   `parquet:"verdict,optional"`
	Note        *string   `parquet:"note,optional"`
	X           *float32  `parquet:"x,optional"`
	Y           *float32  `parquet:"y,optional"`
	Features    []float32 `parquet:"features,list"`
}

// rowGroupRows is the rows of one Parquet row group: what the writer holds
// in memory before it writes them out.
const rowGroupRows = 1 << 16

// toParquet turns a row into parquetRow's fields.
func toParquet(r row) parquetRow {
	p := parquetRow{ID: int64(r.ID), Super: r.Super, Sub: r.Sub, Tags: r.Tags, X: r.X, Y: r.Y}
	if p.Tags == nil {
		p.Tags = []string{}
	}
	if r.Note != nil {
		p.ClusterName, p.Verdict, p.Note = &r.Note.Name, &r.Note.Verdict, &r.Note.Text
	}
	return p
}

// writeParquet writes n rows as one Parquet file (Zstandard pages, row
// groups of rowGroupRows), with or without the features column.
func writeParquet(w io.Writer, t *Table, n int, each func(func(int, row) error) error) error {
	opts := []parquet.WriterOption{
		parquet.Compression(&parquet.Zstd),
		parquet.MaxRowsPerRowGroup(rowGroupRows),
		parquet.CreatedBy("deepercluster", "", ""),
		parquet.KeyValueMetadata("deepercluster.version", fmt.Sprint(t.A.Version)),
	}
	if t.Features != nil {
		return writeRows(w, n, opts, each, func(r row) parquetFeatureRow {
			p := toParquet(r)
			return parquetFeatureRow{p.ID, p.Super, p.Sub, p.Tags, p.ClusterName, p.Verdict, p.Note, p.X, p.Y, r.Features}
		})
	}
	return writeRows(w, n, opts, each, toParquet)
}

// writeRows hands the rows to a GenericWriter in batches of 1,024.
func writeRows[T any](w io.Writer, n int, opts []parquet.WriterOption, each func(func(int, row) error) error, conv func(row) T) error {
	pw := parquet.NewGenericWriter[T](w, opts...)
	batch := make([]T, 0, 1024)
	flush := func() error {
		if _, err := pw.Write(batch); err != nil {
			return fmt.Errorf("export parquet: %w", err)
		}
		batch = batch[:0]
		return nil
	}
	err := each(func(_ int, r row) error {
		batch = append(batch, conv(r))
		if len(batch) == cap(batch) {
			return flush()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	if err != nil {
		return err
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("export parquet: %w", err)
	}
	return nil
}

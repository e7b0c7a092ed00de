// Package folder ingests a folder of photos into a dataset directory (its
// cache, reused until the folder changes): the walk, metadata tables
// (CSV, TSV, JSONL, Parquet: ReadMetaTable) matched by file or id, and
// keywords embedded in the files (EXIF XPKeywords, XMP dc:subject, IPTC:
// ReadKeywords). It is the one package that imports parquet-go and
// go-exif, so nothing else pays for them.
package folder

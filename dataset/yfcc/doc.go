// Package yfcc parses YFCC100M metadata (the 23- and 25-column layouts,
// autotags) in bounded memory, serially (Reader) or in parallel (Read),
// and ingests a subset with its photos into a dataset directory (Ingest).
// Bad lines are counted and reported with file and line, never fatal.
package yfcc

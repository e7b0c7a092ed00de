// Package index links clusters to hashtags. It keeps a bleve index on disk,
// inside the run directory, with one document per image (photo id, tags as
// exact keywords and as words, title, description, user, date, current
// super- and sub-cluster) and one document per cluster (level, size, top
// tags). The server uses it to search clusters by hashtag or free text, to
// autocomplete tags, and to check how well clusters agree with the
// metadata that came with the images (tag NMI and purity, c-TF-IDF keywords,
// NMI/ARI/purity against labels where a dataset has them).
//
// Where answers come from:
//
//   - Which images match a query comes from bleve only (term, prefix,
//     conjunction/disjunction and match queries run by bleve's searchers
//     over a consistent index snapshot).
//   - Which cluster a matching image is in comes from bleve's doc values of
//     the "sub" field of that same snapshot; the super-cluster of a
//     sub-cluster and the cluster sizes come from the in-memory copy of the
//     Assignment version that the snapshot says it holds (an internal key
//     written with the documents, after them when an Update lands).
//   - Tag statistics per cluster (top tags, c-TF-IDF, quality) are computed
//     from the Dataset's metadata and the Assignment in memory, with the
//     same tag normalisation (the same bleve analyser) as the index; the
//     cluster documents written to bleve carry these top tags and TopTags
//     reads them back from bleve.
//
// An index lives in dir/gen-NNNNNN, named by dir/CURRENT. A full Build
// writes a new generation beside the live one and switches CURRENT when it
// is complete and persisted, so searches keep working during a rebuild and
// a crash never leaves a half-built index in use. Update re-indexes only the
// images whose clusters changed, plus the cluster documents, in one batch
// per core; while they land, searches share a reader pinned to the version
// before, so no search sees a mix. A marker key set for the length of an
// Update makes Open rebuild an index whose Update a crash cut short.
package index

// Package dataset holds what every image collection shares, so the
// trainer, the index and the server never care where the pixels come
// from: the on-disk format that ingests write and commands read (dataset
// directories with packed display copies, Dir and DirWriter; sharded
// datasets, Sharded; OpenPath tells them apart), the bad-input report of
// every reader (Problems), the ordered hand-off of parallel decoders
// (InOrder) and TopTags.
//
// Each source is a package of its own below, importing only what it needs:
// dataset/synthetic (the embedded default), dataset/fashionmnist,
// dataset/yfcc (YFCC100M parsing and ingest), dataset/folder (folders of
// photos with metadata tables and embedded keywords: parquet-go, go-exif),
// and dataset/imagefile (decoding and resizing photo files: x/image).
// dataset/source finds a dataset by the name a command line gives it.
package dataset

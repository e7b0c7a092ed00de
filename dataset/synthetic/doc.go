// Package synthetic is the embedded default dataset: a long-tailed,
// non-curated set of outdoor-like scenes generated lazily from a seed, with
// YFCC-style noisy tags and hidden concept labels that let tests measure
// cluster quality without any download. ScenePhoto draws larger generated
// "photos" for the folder-ingest tests and bench/photos.
//
// The renderer is deterministic: a seed and an index always give the same
// pixels (golden_test.go pins them), since checkpoints and benchmark
// figures depend on them.
package synthetic

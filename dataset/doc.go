// Package dataset holds the image collections the trainer learns from, all
// behind deepercluster.Dataset so the trainer, the index and the server never
// care where the pixels come from:
//
//   - Synthetic, the embedded default: a long-tailed, non-curated set of
//     outdoor-like scenes generated lazily from a seed, with YFCC-style noisy
//     tags and hidden concept labels that let tests measure cluster quality.
//   - FashionMNIST: real images from the Debian package dataset-fashion-mnist,
//     with labels for NMI and linear probes.
//   - YFCC100M subsets ingested into a dataset directory.
//
// Rotate turns an image by quarter turns (the trainer's rotation targets
// use trainer's own copy, so the trainer does not import dataset).
package dataset

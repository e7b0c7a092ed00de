#!/usr/bin/python3
"""The Python peers of `make bench-map`, on the files bench/map wrote.

pynndescent (Debian python3-pynndescent) builds the kNN graph of the same
features with the same k and threads (a warm-up run on a subset first, so
numba's compilation is not timed); its recall@10 is measured on the same
1,000 queries against the same exact neighbours. scikit-learn's Barnes-Hut
t-SNE lays out the same 10,000-point sample (sample.i32: a fixed random draw
of the 100,000 points); sklearn.manifold.trustworthiness (k = 10) scores
that layout, ours of the sample alone (trustworthiness) and our timed
100,000-point layout restricted to the sample (trustworthiness_100k).
trustworthiness_100k_sklearn is the same t-SNE run's score as
trustworthiness_sklearn, under the name that pairs with ours. Prints one
JSON line.
"""
import json
import os
import sys
import time

import numpy as np


def main():
    d, n, dim, k, threads, sample = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    x = np.fromfile(os.path.join(d, "features.f32"), dtype="<f4").reshape(n, dim)
    queries = np.fromfile(os.path.join(d, "queries.i32"), dtype="<i4")
    exact = np.fromfile(os.path.join(d, "exact10.i32"), dtype="<i4").reshape(len(queries), 10)
    out = {}

    import pynndescent
    # Warm-up: numba compiles the kernels on first use.
    pynndescent.NNDescent(x[:5000], n_neighbors=k + 1, metric="euclidean", n_jobs=threads, random_state=2).neighbor_graph
    t0 = time.perf_counter()
    index = pynndescent.NNDescent(x, n_neighbors=k + 1, metric="euclidean", n_jobs=threads, random_state=1)
    ind, _ = index.neighbor_graph
    out["knn_100k_s_pynndescent"] = time.perf_counter() - t0
    hit = 0
    for r, q in enumerate(queries):
        row = [j for j in ind[q] if j != q][:10]
        hit += len(set(row) & set(exact[r].tolist()))
    out["knn_recall10_pynndescent"] = hit / (10 * len(queries))
    print(f"peers: pynndescent {out['knn_100k_s_pynndescent']:.1f} s, recall@10 {out['knn_recall10_pynndescent']:.4f}", file=sys.stderr)

    from sklearn.manifold import TSNE, trustworthiness
    rows = np.fromfile(os.path.join(d, "sample.i32"), dtype="<i4")
    if len(rows) != sample:
        sys.exit(f"peers: sample.i32 has {len(rows)} rows, want {sample}")
    xs = x[rows]
    ours = np.fromfile(os.path.join(d, "sample_layout.f32"), dtype="<f4").reshape(sample, 2)
    out["trustworthiness"] = float(trustworthiness(xs, ours, n_neighbors=10))
    ours100k = np.fromfile(os.path.join(d, "sample_layout_100k.f32"), dtype="<f4").reshape(sample, 2)
    out["trustworthiness_100k"] = float(trustworthiness(xs, ours100k, n_neighbors=10))
    t0 = time.perf_counter()
    emb = TSNE(n_components=2, method="barnes_hut", init="pca", learning_rate="auto", random_state=1, n_jobs=threads).fit_transform(xs)
    out["tsne_10k_s_sklearn"] = time.perf_counter() - t0
    out["trustworthiness_sklearn"] = float(trustworthiness(xs, emb, n_neighbors=10))
    out["trustworthiness_100k_sklearn"] = out["trustworthiness_sklearn"]
    print(f"peers: trustworthiness ours {out['trustworthiness']:.4f} (sample alone), {out['trustworthiness_100k']:.4f} (the 100k layout on the sample), "
          f"sklearn t-SNE {out['trustworthiness_sklearn']:.4f} ({out['tsne_10k_s_sklearn']:.1f} s)", file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()

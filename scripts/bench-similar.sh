#!/usr/bin/env bash
# bench-similar: GET /api/images/{id}/similar on the real server with
# 100,000 images and 64-dimensional features (the trainer's default PCA
# output), over HTTP on loopback, 300 random images, k = 12; beside it the
# exact search alone, and numpy and faiss (IndexFlatIP) exact search on the
# same features with the same threads (/usr/bin/python3, make bench-deps):
# THREADS (default 2) is ours' GOMAXPROCS and the peers' thread count.
# Every side gets the same 20 warm-up queries. `search_median_ms` is our
# exact search in process, the like-for-like figure beside
# `numpy_median_ms` and `faiss_median_ms`; `similar_median_ms` is the
# whole request over HTTP. Our neighbours must be numpy's exact ones
# (`peer_agreement` >= 0.99) or the bench fails (exit 1, the figure
# printed). The target is a similar_median_ms at most 50 ms. The last line
# is one JSON object: {"similar_median_ms","similar_p99_ms","images", ...
# the peer's figures, "cpu","gomaxprocs","nproc","peer_threads"}.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
$GO build -o "$bin/benchsimilar" ./bench/similar
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
export GOMAXPROCS=${THREADS:-2}
"$bin/benchsimilar" -n "${N:-100000}" -threads "${THREADS:-2}" "$@"

#!/usr/bin/env bash
# Start benchmark of the explorer: `deepercluster serve` on 1,000,000
# synthetic images (the default model at 32 px, a fresh run directory),
# timed from the process start to its HTTP API, the first Assignment, its
# search index and the final 2D map of that version. Last line:
# {"http_s", "first_assignment_s", "index_ready_s", "layout_ready_s",
# "rss_mb", where the time went (extract_s, pca_s, kmeans_s, index_s,
# layout_knn_s, layout_embed_s, train_held_s: how long training waited for
# the first map), serve's CPU seconds, the machine and the load average};
# targets on 2 cores: first_assignment_s <= 180, layout_ready_s <= 400.
# Overrides: START_IMAGES.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/deepercluster" ./cmd/deepercluster
go build -o "$tmp/startbench" ./bench/start
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$tmp/startbench" --bin "$tmp/deepercluster" --dir "$tmp/run" --images "${START_IMAGES:-1000000}"
echo "machine after: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

#!/usr/bin/env bash
# bench-index: the bleve index on 100,000 synthetic images.
# Full build speed, size on disk, re-index after 10% of the images move,
# single-tag cluster search latency (200 queries drawn from the tag
# frequency), with the stock bleve facet route on the same queries as the
# peer. The last line is one JSON object:
# {"build_docs_per_s","disk_mb","update_speedup","search_median_ms","search_p99_ms",
# "peer_search_median_ms","peer_search_p99_ms","peer_score","rounds","queries","load_avg_1m"}:
# the peer (stock bleve facet) with the same scoring (none), warm-up and
# queries, in blocks alternating with ours.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
$GO build -o "$bin/benchindex" ./bench/index
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$bin/benchindex" -n "${N:-100000}" "$@"

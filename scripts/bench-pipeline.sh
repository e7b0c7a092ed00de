#!/usr/bin/env bash
# make bench-pipeline: the Beam pipelines on Prism (in process, one SDK
# harness) beside the single-machine paths on the same input. Ingest:
# generated YFCC100M lines and 500x375 JPEGs into a 4-shard dataset
# (pipeline) or one dataset directory (dataset.Ingest). Recluster: the
# synthetic set in 4 shards, a freshly initialised default network (32 px),
# m=16 k=8 pca_dim=64, 10 iterations per level, against
# trainer.ExtractFeatures + cluster.Hierarchy. Also printed: the per-image
# costs and shuffle bytes docs/SCALE.md plans from. Sizes: LINES, IMAGES.
# The last line is one JSON object with ingest_images_per_s,
# recluster_images_per_s, workers, their _single peers and load_avg_1m.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (other work on the machine lowers the wall-clock figures)"
go build -o "$tmp/benchpipeline" ./bench/pipeline
"$tmp/benchpipeline" --lines "${LINES:-2000}" --images "${IMAGES:-8000}"

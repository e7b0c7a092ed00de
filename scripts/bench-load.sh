#!/usr/bin/env bash
# Load benchmark of the explorer: `deepercluster serve` on a
# 100,000-image synthetic run, training the default model at the default
# resolution, 200 websocket clients and 50 searches a second for 120 s on
# loopback, a reclustering asked from the API half way and a second one
# while the first runs (refused with 409). The clock starts once the first
# Assignment is indexed. Last line: {"errors", "clients",
# "clients_on_latest", "search_p99_ms", "rss_growth_mb", "recluster_409s"};
# targets: errors 0, clients_on_latest == clients, search_p99_ms <= 100,
# recluster_409s 1.
# Overrides: LOAD_IMAGES, LOAD_CLIENTS, LOAD_RATE, LOAD_DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/deepercluster" ./cmd/deepercluster
go build -o "$tmp/loadbench" ./bench/load
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$tmp/loadbench" --bin "$tmp/deepercluster" --dir "$tmp/run" \
	--images "${LOAD_IMAGES:-100000}" --clients "${LOAD_CLIENTS:-200}" \
	--rate "${LOAD_RATE:-50}" --duration "${LOAD_DURATION:-120s}"
echo "machine after: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

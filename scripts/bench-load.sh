#!/usr/bin/env bash
# Load benchmark of the explorer: `deepercluster serve` on a
# 100,000-image synthetic run (tiny model: the load is on the server), 50
# websocket clients and 20 searches a second for 60 s on loopback, a
# reclustering asked half way. The clock starts once the first Assignment
# is indexed. Last line: {"errors", "clients", "clients_on_latest",
# "search_p99_ms", "rss_growth_mb"}.
# Overrides: LOAD_IMAGES, LOAD_CLIENTS, LOAD_RATE, LOAD_DURATION.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/deepercluster" ./cmd/deepercluster
go build -o "$tmp/loadbench" ./bench/load
"$tmp/loadbench" --bin "$tmp/deepercluster" --dir "$tmp/run" \
	--images "${LOAD_IMAGES:-100000}" --clients "${LOAD_CLIENTS:-50}" \
	--rate "${LOAD_RATE:-20}" --duration "${LOAD_DURATION:-60s}"

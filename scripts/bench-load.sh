#!/usr/bin/env bash
# Load benchmark of the explorer: `deepercluster serve` on a
# 100,000-image synthetic run, training the default model at the default
# resolution, 200 websocket clients and 50 searches a second for 120 s on
# loopback, a reclustering asked from the API half way and a second one
# while the first runs (refused with 409). The clock starts once the first
# Assignment is indexed. Then, idle and one after the other, `train` and
# `serve` train the same default model on 20,000 synthetic images and
# each is credited with the steps of its history.log over 90 s (after
# 45 s of warm-up; serve's also after its first 2D map). Last line:
# {"errors", "clients", "clients_on_latest", "search_p99_ms",
# "rss_growth_mb", "recluster_409s", "train_ips", "serve_train_ips", ...};
# targets: errors 0, clients_on_latest == clients, search_p99_ms <= 100,
# recluster_409s 1, serve_train_ips >= 0.95 * train_ips.
# Overrides: LOAD_IMAGES, LOAD_CLIENTS, LOAD_RATE, LOAD_DURATION,
# LOAD_IPS_IMAGES, LOAD_IPS_WARM, LOAD_IPS_WINDOW (0s: no comparison).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/deepercluster" ./cmd/deepercluster
go build -o "$tmp/loadbench" ./bench/load
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$tmp/loadbench" --bin "$tmp/deepercluster" --dir "$tmp/run" \
	--images "${LOAD_IMAGES:-100000}" --clients "${LOAD_CLIENTS:-200}" \
	--rate "${LOAD_RATE:-50}" --duration "${LOAD_DURATION:-120s}" \
	--ips-images "${LOAD_IPS_IMAGES:-20000}" --ips-warm "${LOAD_IPS_WARM:-45s}" --ips-window "${LOAD_IPS_WINDOW:-90s}"
echo "machine after: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

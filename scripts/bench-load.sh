#!/usr/bin/env bash
# Load benchmark of the explorer: `deepercluster serve` on a
# 100,000-image synthetic run, training the default model at the default
# resolution, 200 websocket clients and 50 searches a second for 120 s on
# loopback, a reclustering asked from the API half way and a second one
# while the first runs (refused with 409). The clock starts once the first
# Assignment is indexed. The websocket clients run in a process of their
# own (as browsers run on machines of their own), keep the Assignment from
# its snapshot and deltas, and count the map's frames without decoding
# them; the searches are sent and timed from the bench's main process.
# `search_p99_ms` is the round trip the searching client saw;
# `search_server_p99_ms` the server's own time in the handler (its
# Server-Timing header): the difference is time in queues (the Go
# scheduler's, the kernel's) and on loopback.
#
# Then, idle, `train` and `serve` train the same default model on 20,000
# synthetic images, one after the other, in LOAD_IPS_PAIRS pairs (default
# 2) of alternating order (train first in pair 1, serve first in pair 2,
# ...), each in a fresh run directory and credited with the steps of its
# history.log over 60 s (after 30 s of warm-up; serve's also after its
# first 2D map). Noise: the speed of one process moves by 15% between
# runs on the same machine, so each measurement also records the share
# of the machine's CPU that other processes used during its window
# (/proc/stat's busy time less the measured process's CPU time, the rule
# of scripts/quiet_run.py); a pair is quiet when both shares are under
# 0.10. `train_ips` and `serve_train_ips` are medians over the quiet
# pairs, `serve_train_ratio` the median of those pairs' own serve/train
# ratios; `train_ips_runs` and `serve_train_ips_runs` list every
# measurement in run order, `ips_pairs_quiet` says how many of
# `ips_pairs` qualified and `others_cpu_share_max` is the busiest window.
# No quiet pair: the three figures are null, and after the JSON the bench
# fails with an error that says so. Each measurement takes about 2
# minutes (start, warm-up, window, and up to an epoch's wait for
# history.log's write at each end), so 2 pairs add about 8 to the load's
# 3 or so (an estimate for two idle cores, not a measured figure).
#
# Last line: {"errors", "clients", "clients_on_latest", "search_p99_ms",
# "search_server_p99_ms", "rss_growth_mb", "recluster_409s", "train_ips", "serve_train_ips",
# "serve_train_ratio", "ips_pairs", "ips_pairs_quiet", "train_ips_runs",
# "serve_train_ips_runs", "others_cpu_share_max", ...}; targets: errors
# 0, clients_on_latest == clients, search_p99_ms <= 100, recluster_409s 1,
# serve_train_ratio >= 0.95.
# Overrides: LOAD_IMAGES, LOAD_CLIENTS, LOAD_RATE, LOAD_DURATION,
# LOAD_IPS_IMAGES, LOAD_IPS_PAIRS, LOAD_IPS_WARM, LOAD_IPS_WINDOW (0s: no
# comparison).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/deepercluster" ./cmd/deepercluster
go build -o "$tmp/loadbench" ./bench/load
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
rc=0
"$tmp/loadbench" --bin "$tmp/deepercluster" --dir "$tmp/run" \
	--images "${LOAD_IMAGES:-100000}" --clients "${LOAD_CLIENTS:-200}" \
	--rate "${LOAD_RATE:-50}" --duration "${LOAD_DURATION:-120s}" \
	--ips-images "${LOAD_IPS_IMAGES:-20000}" --ips-pairs "${LOAD_IPS_PAIRS:-2}" \
	--ips-warm "${LOAD_IPS_WARM:-30s}" --ips-window "${LOAD_IPS_WINDOW:-60s}" || rc=$?
echo "machine after: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exit "$rc"

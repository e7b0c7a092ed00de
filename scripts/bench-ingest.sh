#!/usr/bin/env bash
# Measures YFCC100M ingest speed: metadata lines/s over 1,000,000 generated
# lines through the reader that ingest uses (yfcc.Read with
# dataset.IngestParseWorkers; "lines_reader" names it) and images/s for
# find + decode + center crop + resize of 500x375 JPEGs through the whole
# ingest pipeline.
# Targets: >= 500,000 lines/s and >= 300 images/s on this 2-core machine.
# Then a folder of photos (DEEPERCLUSTER_BENCH_FOLDER_IMAGES, default 2000,
# and a quarter of it): 640x480 JPEGs in nested folders through the folder
# ingest (32 px training images and 256 px display copies), with the peak
# Go heap and RSS of each size to show that memory does not grow with the
# count. There is no external peer for this benchmark; the ratios printed
# are against the targets. Last line: {"lines_per_s", "lines_reader",
# "images_per_s", "sequential_reader_lines_per_s", "folder_images_per_s",
# "load_avg_1m"}.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (other work on the machine lowers the wall-clock figures; CPU time per item does not depend on it)"
DEEPERCLUSTER_BENCH_INGEST=1 go test -count=1 -run '^TestBenchIngest$' -v -timeout 20m ./dataset/yfcc >"$out" 2>&1 || { cat "$out"; exit 1; }
grep -vE '^(=== RUN|--- PASS|PASS|ok )' "$out" | grep -v '^{' || true
grep '^{' "$out" | tail -1 | go run ./bench/machine

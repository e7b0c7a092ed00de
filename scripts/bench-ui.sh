#!/usr/bin/env bash
# Frame times of the explorer client in headless Chromium over a scripted pan
# and zoom of a synthetic run: 1,000,000 images in 100,000 sub-clusters, sent
# over a websocket in the real wire format (no training). Last line: one JSON
# object {"frame_p50_ms", "frame_p95_ms", "images", "subclusters"}; target
# p95 <= 33 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s wasm >&2
# The client built with the dctest tag (make wasm), which has the benchmark's
# hooks; the shipped static/main.wasm has none.
go run ./bench/ui -static e2e/testdata/static-dctest "$@"

#!/usr/bin/env bash
# Frame times of the explorer client in headless Chromium over a scripted pan
# and zoom of a synthetic run: 1,000,000 images in 100,000 sub-clusters, sent
# over a websocket in the real wire format (no training); and the whole map
# drawn our way and by a JavaScript peer (one fillRect per cell, culling
# off-screen and sub-pixel cells as ours does), one frame each in turn.
# Last line: one JSON object {"frame_p50_ms", "frame_p95_ms",
# "full_frame_p50_ms", "full_frame_p95_ms", "peer_frame_p50_ms",
# "peer_frame_p95_ms", "peer_cells_drawn", "images", "subclusters",
# "load_avg_1m"}; target p95 <= 33 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
make -s wasm >&2
# The client built with the dctest tag (make wasm), which has the benchmark's
# hooks; the shipped static/main.wasm has none.
go run ./bench/ui -static e2e/testdata/static-dctest "$@"

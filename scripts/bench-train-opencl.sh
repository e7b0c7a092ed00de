#!/usr/bin/env bash
# The opencl column of make bench-train: the GPU backend (package gpu) over
# OpenCL on the same network, step and batches as bench-train's CPU
# figures (train at batch 64 and extract in batches of 256, 32 px), through
# the same bench/train program with -device opencl. In CI and on this
# machine OpenCL is PoCL, a CPU implementation that runs work-items one
# after another: the figure says what the OpenCL path costs there (about
# 20x our CPU backend), not what a GPU does (scripts/gpu-check.sh), so it
# has no target and few steps. PoCL gets 2 threads, as each side of
# bench-train does.
#
# Usage: scripts/bench-train-opencl.sh [BENCHTRAIN]; last line one JSON
# object (opencl_train_ips, opencl_extract_ips, opencl_device, opencl_steps),
# or {"opencl_error": "..."} when no OpenCL device is found.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
STEPS=${OPENCL_STEPS:-5}
bin=${1:-}
if [ -z "$bin" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	go build -o "$tmp/benchtrain" ./bench/train
	bin=$tmp/benchtrain
fi
export POCL_CPU_MAX_CU_COUNT=2 POCL_MAX_PTHREAD_COUNT=2 GOMAXPROCS=2
if ! train=$("$bin" train -device opencl -res 32 -steps "$STEPS" -warmup 1 2>"${TMPDIR:-/tmp}/bench-train-opencl.err"); then
	err=$(tail -n 1 "${TMPDIR:-/tmp}/bench-train-opencl.err")
	$PY -c 'import json, sys; print(json.dumps({"opencl_error": sys.argv[1]}))' "$err"
	exit 0
fi
echo "  opencl train 32px: $train" >&2
extract=$("$bin" extract -device opencl -res 32 -steps "$(( (STEPS + 1) / 2 ))" -warmup 1 2>/dev/null)
echo "  opencl extract 32px: $extract" >&2
$PY - "$train" "$extract" "$STEPS" <<'PY'
import json, sys
t, e = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({"opencl_train_ips": round(t["ips"], 2), "opencl_extract_ips": round(e["ips"], 2),
                  "opencl_device": t["device_name"], "opencl_steps": int(sys.argv[3])}))
PY

#!/usr/bin/env bash
# make check-export: a network trained briefly on the synthetic set,
# exported with `deepercluster export-model --format safetensors`, loaded
# into scripts/deepercluster_model.py by Debian's python3-torch (strict
# load_state_dict); the features of 64 dataset images must equal ours
# (relative error <= 1e-4). The ONNX export is written too and passes
# onnx.checker's full check here; its features are checked against ours
# by gonnx in `make test` (modelexport/onnxmodel).
# Last line: one JSON object.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/deepercluster" ./cmd/deepercluster
go build -o "$tmp/refdump" ./modelexport/internal/refdump
echo "training a small network on 512 synthetic images (2 epochs)" >&2
"$tmp/deepercluster" train --dataset synthetic --n 512 --out "$tmp/run" --epochs 2 --m 2 --k 4 \
	--width 8 --hidden 32 --pca-dim 16 >&2
"$tmp/deepercluster" export-model --checkpoint "$tmp/run" --format safetensors --out "$tmp/model.safetensors" --heads
"$tmp/deepercluster" export-model --checkpoint "$tmp/run" --format onnx --out "$tmp/model.onnx"
$PY -c 'import sys, onnx; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)' "$tmp/model.onnx"
echo "onnx.checker (full_check): $tmp/model.onnx passes" >&2
mkdir -p "$tmp/dump"
"$tmp/refdump" --checkpoint "$tmp/run" --dataset synthetic --images 64 --out "$tmp/dump"
$PY scripts/check_export.py "$tmp/model.safetensors" "$tmp/dump"

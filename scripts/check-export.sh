#!/usr/bin/env bash
# make check-export: networks trained briefly on the synthetic set,
# exported with `deepercluster export-model --format safetensors --heads`,
# loaded into scripts/deepercluster_model.py by Debian's python3-torch
# (strict load_state_dict); the features of 64 dataset images must equal
# ours (relative error <= 1e-4). Two networks: the default shape at 32 px,
# and one with the Sobel front end at 20 px (an odd side before the last
# max-pool). The ONNX export is written too and passes onnx.checker's full
# check here; gonnx checks its features against ours in `make test`
# (modelexport/onnxmodel). Last line: one JSON object.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/deepercluster" ./cmd/deepercluster
go build -o "$tmp/refdump" ./modelexport/internal/refdump
results=()
for cfg in "plain:--size 32 --width 8 --hidden 32" "sobel:--size 20 --width 6 --hidden 24 --sobel"; do
	name=${cfg%%:*}
	# shellcheck disable=SC2206
	flags=(${cfg#*:})
	run="$tmp/$name"
	echo "== $name: training on 512 synthetic images (2 epochs): ${flags[*]}" >&2
	"$tmp/deepercluster" train --dataset synthetic --n 512 --out "$run" --epochs 2 --m 2 --k 4 --pca-dim 16 "${flags[@]}" \
		>"$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log" >&2; exit 1; }
	"$tmp/deepercluster" export-model --checkpoint "$run" --format safetensors --out "$tmp/$name.safetensors" --heads
	"$tmp/deepercluster" export-model --checkpoint "$run" --format onnx --out "$tmp/$name.onnx"
	$PY -c 'import sys, onnx; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)' "$tmp/$name.onnx"
	echo "onnx.checker (full_check): $name.onnx passes" >&2
	mkdir -p "$tmp/$name.dump"
	"$tmp/refdump" --checkpoint "$run" --dataset synthetic --images 64 --out "$tmp/$name.dump"
	results+=("$($PY scripts/check_export.py "$tmp/$name.safetensors" "$tmp/$name.dump" "$name")")
	echo "${results[-1]}" >&2
done
printf '%s\n' "${results[@]}" | $PY -c '
import json, sys
runs = [json.loads(l) for l in sys.stdin if l.strip()]
print(json.dumps({"check": "export", "runs": runs, "max_rel_err": max(r["max_rel_err"] for r in runs),
                  "bound": 1e-4, "ok": all(r["ok"] for r in runs)}))'

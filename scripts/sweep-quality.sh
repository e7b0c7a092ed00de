#!/usr/bin/env bash
# sweep-quality: the validation sweep of issue 28: scripts/bench-quality.sh
# once per line of a grid file, always on the validation split, so no
# setting is chosen on the test split.
#
# usage: scripts/sweep-quality.sh GRID [OUT.jsonl]
#   GRID: one configuration a line, as QUALITY_* assignments separated by
#   spaces ("QUALITY_M=10 QUALITY_K=16"); blank lines and '#' comments are
#   skipped. A line may not set QUALITY_SPLIT (always val), QUALITY_SEEDS
#   or QUALITY_RUN: seeds come from the environment (default "1 2 3") and
#   each line gets its own run directory under OUT's folder.
#   OUT (default sweep-quality.jsonl): one JSON object a line,
#   {"config": {...}, "result": <bench-quality's JSON>}, appended, so an
#   interrupted sweep keeps what it finished.
# The end prints a Markdown table of every line of OUT, best validation
# NMI mean first (scripts/quality_agg.py table). scripts/quality-grid.txt is
# the grid of issue 28, item 1.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] && [ $# -le 2 ] || { sed -n '2,18p' "$0" >&2; exit 2; }
GRID=$1
OUT=${2:-sweep-quality.jsonl}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
[ -r "$GRID" ] || { echo "sweep-quality: $GRID: cannot read the grid file" >&2; exit 2; }
# Check every line before running any: a typo found after hours is late.
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	line=${line%%#*}
	for kv in $line; do
		case $kv in
		QUALITY_SPLIT=* | QUALITY_SEEDS=* | QUALITY_SEED=* | QUALITY_RUN=*)
			echo "sweep-quality: $GRID:$lineno: $kv: the sweep sets ${kv%%=*} itself" >&2; exit 2 ;;
		QUALITY_[A-Z]*=*) ;;
		*) echo "sweep-quality: $GRID:$lineno: $kv: want QUALITY_NAME=VALUE" >&2; exit 2 ;;
		esac
	done
done <"$GRID"
mkdir -p "$(dirname "$OUT")"
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	line=${line%%#*}
	read -r -a kvs <<<"$line"
	[ ${#kvs[@]} -eq 0 ] && continue
	run=$(dirname "$OUT")/sweep-run-$lineno
	echo "sweep-quality: line $lineno: ${kvs[*]} (run dir $run)" >&2
	result=$(env "${kvs[@]}" QUALITY_SPLIT=val QUALITY_RUN="$run" scripts/bench-quality.sh </dev/null | tail -1)
	"$PY" - "$result" "${kvs[@]}" >>"$OUT" <<'PYEOF'
import json, sys
config = dict(kv.split("=", 1) for kv in sys.argv[2:])
print(json.dumps({"config": config, "result": json.loads(sys.argv[1])}))
PYEOF
done <"$GRID"
"$PY" scripts/quality_agg.py table "$OUT"

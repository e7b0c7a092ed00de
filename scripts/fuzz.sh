#!/usr/bin/env bash
# Runs every fuzz target of the module for the given time each (default 60s).
# A target is a "func FuzzXxx" in a _test.go file; each package is listed once.
set -euo pipefail
fuzztime=${1:-60s}
cd "$(dirname "$0")/.."
status=0
while IFS=: read -r file name; do
	pkg=./$(dirname "$file")
	echo "fuzz $pkg $name for $fuzztime"
	go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$pkg" || status=1
done < <(grep -rHoE --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)' . | sed -E 's#^\./##; s#:func #:#' | sort -u)
exit $status

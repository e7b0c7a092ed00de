#!/usr/bin/env bash
# Runs every fuzz target of the module for the given time each (default 60s).
# A target is a "func FuzzXxx" in a _test.go file; each package is listed once.
#
# Go 1.26's fuzz coordinator sometimes fails a run with a bare "context
# deadline exceeded" as -fuzztime ends, with no failing input
# (golang/go#75804, fixed in Go 1.27). Such a run is reported as a flake and
# not counted as a failure, but only when its output shows nothing else: a
# failing input, a panic, a fatal runtime error, a crashed or hung worker or
# a data race in the same window fails the run as always.
#
# `scripts/fuzz.sh --self-test` checks that rule on sample outputs (make test
# runs it).
set -euo pipefail

# coordinator_race_only reads a failed run's output on stdin and succeeds
# when the only failure in it is the coordinator's deadline race.
coordinator_race_only() {
	local out
	out=$(cat)
	grep -q 'context deadline exceeded' <<<"$out" || return 1
	! grep -qE 'Failing input written|testdata/fuzz/|panic:|fatal error:|SIGSEGV|terminated unexpectedly|hung or terminated|DATA RACE' <<<"$out"
}

if [ "${1:-}" = "--self-test" ]; then
	race=$'--- FAIL: FuzzDecodeFrame (5.02s)\n    context deadline exceeded\nFAIL\nexit status 1'
	crash=$'fuzz: elapsed: 4s, execs: 1000\n--- FAIL: FuzzDecodeFrame (4.99s)\n    --- FAIL: FuzzDecodeFrame (0.00s)\n        testing.go:1: panic: runtime error: index out of range\n    Failing input written to testdata/fuzz/FuzzDecodeFrame/abc\n    context deadline exceeded\nFAIL'
	hung=$'--- FAIL: FuzzDecodeFrame (5.00s)\n    fuzzing process hung or terminated unexpectedly: exit status 2\n    context deadline exceeded\nFAIL'
	other=$'--- FAIL: FuzzDecodeFrame (0.10s)\n    wire_test.go:40: round trip differs\nFAIL'
	coordinator_race_only <<<"$race" || { echo "fuzz.sh self-test: the bare coordinator race was not recognised" >&2; exit 1; }
	for name in crash hung other; do
		if coordinator_race_only <<<"${!name}"; then
			echo "fuzz.sh self-test: a real failure ($name) was taken for the coordinator race" >&2
			exit 1
		fi
	done
	echo "fuzz.sh self-test: ok"
	exit 0
fi

fuzztime=${1:-60s}
cd "$(dirname "$0")/.."
status=0
flakes=0
while IFS=: read -r file name; do
	pkg=./$(dirname "$file")
	echo "fuzz $pkg $name for $fuzztime"
	if out=$(go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$pkg" 2>&1); then
		echo "$out" | tail -n 2
		continue
	fi
	echo "$out" | tail -n 25
	if coordinator_race_only <<<"$out"; then
		echo "fuzz $pkg $name: Go fuzz coordinator deadline race (golang/go#75804), no failing input: counted as a flake" >&2
		flakes=$((flakes + 1))
	else
		status=1
	fi
done < <(grep -rHoE --include='*_test.go' '^func (Fuzz[A-Za-z0-9_]+)' . | sed -E 's#^\./##; s#:func #:#' | sort -u)
[ "$flakes" -eq 0 ] || echo "fuzz: $flakes run(s) ended by the coordinator race, none wrote a failing input" >&2
exit $status

#!/usr/bin/env bash
# bench-ws: the websocket stream of cluster assignments.
#  1. A snapshot of 1,000,000 image assignments, and a delta moving 10% of
#     them, from the server's hub to a Go websocket client on loopback
#     (received and decoded; the delta also applied). Target: snapshot <= 20 ms.
#  2. Time from starting `deepercluster serve` on the default dataset (20,000
#     synthetic images) to the first Assignment reaching a connected client,
#     then SIGINT (must exit 0) and a restart on the same directory (resume).
# Last line: {"snapshot_1m_ms", "snapshot_mb_per_s", "delta_10pct_ms"}.
set -euo pipefail
cd "$(dirname "$0")/.."

# Three runs of each; the median is reported (the machine is shared).
out=$(go test -run '^$' -bench '^BenchmarkWS' -benchtime "${BENCHTIME:-50x}" -count 3 ./server)
echo "$out" | grep '^Benchmark' >&2
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
snap_ns=$(echo "$out" | awk '/^BenchmarkWSSnapshot1M/ {print $3}' | median)
snap_mbs=$(echo "$out" | awk '/^BenchmarkWSSnapshot1M/ {print $5}' | median)
delta_ns=$(echo "$out" | awk '/^BenchmarkWSDelta10pct/ {print $3}' | median)

if [ "${SKIP_SERVE:-0}" != 1 ]; then
	tmp=$(mktemp -d)
	trap '[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
	go build -o "$tmp/deepercluster" ./cmd/deepercluster
	go build -o "$tmp/wsprobe" ./bench/wsprobe
	port=$(( 20000 + RANDOM % 20000 ))
	for round in fresh resumed; do
		start=$(date +%s%N)
		"$tmp/deepercluster" serve --addr "127.0.0.1:$port" --data-dir "$tmp/run" >"$tmp/serve-$round.log" 2>&1 &
		pid=$!
		if ! probe=$("$tmp/wsprobe" -url "ws://127.0.0.1:$port/ws" -since "$start" -timeout 3m); then
			echo "serve ($round): no Assignment reached the client; server log:" >&2
			tail -20 "$tmp/serve-$round.log" >&2
			exit 1
		fi
		read -r first_ms connect_ms version images <<<"$probe"
		echo "serve ($round): first Assignment (version $version, $images images) reached a client after ${first_ms} ms; HTTP up after ${connect_ms} ms" >&2
		curl -fsS "http://127.0.0.1:$port/api/run" | head -c 300 >&2 || true
		echo >&2
		if [ "$round" = fresh ]; then first_fresh=$first_ms; fi
		kill -INT "$pid"
		if wait "$pid"; then
			echo "serve ($round): SIGINT -> exit 0" >&2
		else
			echo "serve ($round): exit status $? after SIGINT" >&2
			tail -20 "$tmp/serve-$round.log" >&2
			exit 1
		fi
		pid=
	done
	echo "time_to_first_assignment_ms=$first_fresh (goal <= 15000)" >&2
fi

awk -v s="$snap_ns" -v m="$snap_mbs" -v d="$delta_ns" 'BEGIN {
	printf "{\"snapshot_1m_ms\": %.2f, \"snapshot_mb_per_s\": %.1f, \"delta_10pct_ms\": %.2f}\n", s/1e6, m, d/1e6
}' | go run ./bench/machine

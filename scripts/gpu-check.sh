#!/usr/bin/env bash
# gpu-check.sh: the one command for a GPU machine (issue 29). It runs in
# the folder that `make gpu-bundle` fills here (binaries cross-compiled
# with CGO_ENABLED=0 for GPU_GOARCH, carried over: the GPU machine has no
# Go and no network) and, in under 8 minutes:
#   1. the GPU tests: every *.test binary with -test.run "$GPU_TEST_RUN"
#      (default CUDA: the device self-test, error and graph-replay tests,
#      and the backend's CUDA tests where gpu.test is carried), and the
#      device's launch-cost benchmark (launch_us, graph10_launch_us);
#   2. compute-sanitizer memcheck on the small self-test shapes, if present;
#   3. a short `deepercluster train --device cuda` (skipped with a note for
#      a deepercluster binary older than the flag);
#   4. bench-gpu (ours) and bench/gpu/torch_gpu.py (PyTorch eager, same
#      network and GPU), if carried;
# and prints, last, one JSON line: tests_passed/tests_failed/tests_skipped,
# memcheck, train_ips and extract_ips at 32 px (batch 256) and 64 px, the
# torch figures, ratio_vs_torch_gpu (ours/torch, train 32 px), kmeans_1m_s.
# A figure that could not be measured is null, with the reason in "notes".
#
# bench-gpu (./bench/gpu, built by make gpu-bundle once it has a Go
# program) must print, as the last line of its stdout, one JSON object
# with train_ips and extract_ips (32 px, batch 256), train_ips_64 and
# extract_ips_64 (64 px, batch 256), and kmeans_1m_s (one assignment and
# centroid update, 1,000,000 x 256, k = 10,000), measured on the CUDA
# backend with the network torch_gpu.py builds (bench-train's: the
# default small VGG, DeeperCluster heads for 16 super-classes and k=16);
# other keys are kept under "bench". $BENCH_ARGS is passed to it.
#
# Budget per step (seconds, override by env): TESTS_S=170 (per test
# binary) MEMCHECK_S=90 SMOKE_S=45 BENCH_S=120 TORCH_S=60 (per run); and
# BUDGET_S=450 for the whole: each step's limit is cut to what is left of
# it (less 15 s for the summary), and a step with under 10 s left is
# skipped with a note, so the script ends in under 8 minutes.
set -uo pipefail
echo "uname -m: $(uname -m)"
cd "$(dirname "$0")"
start=$(date +%s)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
notes=()
note() { notes+=("$1"); echo "note: $1" >&2; }
budget=${BUDGET_S:-450}
# limit STEP_S: the step's limit cut to the budget left; 0 when too little.
limit() {
	local left=$((budget - ($(date +%s) - start) - 15))
	if [ "$left" -lt 10 ]; then echo 0; elif [ "$1" -lt "$left" ]; then echo "$1"; else echo "$left"; fi
}

built=$(cat ARCH 2>/dev/null || echo unknown)
case "$(uname -m)" in
x86_64) arch=amd64 ;;
aarch64 | arm64) arch=arm64 ;;
*) arch=$(uname -m) ;;
esac
if [ "$built" != "$arch" ]; then
	note "binaries built for $built, machine is $arch: rebuild with make gpu-bundle GPU_GOARCH=$arch"
fi
gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
echo "gpu: ${gpu:-nvidia-smi not found}"

# 1. GPU tests.
passed=0 failed=0 skipped=0
for t in ./*.test; do
	[ -x "$t" ] || continue
	bench=()
	# The device's launch cost, plain and as one graph of ten launches.
	[ "$(basename "$t")" = device.test ] && bench=(-test.bench CUDALaunch -test.benchtime 2000x)
	lim=$(limit "${TESTS_S:-170}")
	if [ "$lim" -eq 0 ]; then
		note "no time left for $t"
		failed=$((failed + 1))
		continue
	fi
	echo "== $t -test.run '${GPU_TEST_RUN:-CUDA}' ${bench[*]}"
	timeout "$lim" "$t" -test.run "${GPU_TEST_RUN:-CUDA}" -test.v -test.count=1 "${bench[@]}" 2>&1 | tee "$out/$(basename "$t").log"
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^--- PASS' "$out/$(basename "$t").log")
	f=$(grep -c '^--- FAIL' "$out/$(basename "$t").log")
	s=$(grep -c '^--- SKIP' "$out/$(basename "$t").log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		note "$t exited $rc without a failing test (panic or timeout)"
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
done
[ "$skipped" -gt 0 ] && note "$skipped tests skipped on a GPU machine: see the log above (no driver or GPU found?)"

# 2. memcheck.
san=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer /opt/nvidia/*/compute-sanitizer 2>/dev/null | head -1)
memcheck=absent
if [ -n "$san" ] && [ -x ./device.test ] && [ "$(limit "${MEMCHECK_S:-90}")" -eq 0 ]; then
	memcheck=skipped
	note "no time left for memcheck"
elif [ -n "$san" ] && [ -x ./device.test ]; then
	echo "== $san --tool memcheck"
	if timeout "$(limit "${MEMCHECK_S:-90}")" "$san" --tool memcheck --error-exitcode 3 ./device.test -test.run "${MEMCHECK_RUN:-CUDASelfTest|CUDAGraphs}" -test.count=1 >"$out/memcheck.log" 2>&1; then
		memcheck=pass
	else
		memcheck=fail
		tail -30 "$out/memcheck.log"
	fi
	grep -E 'ERROR SUMMARY|^(ok|PASS|FAIL)' "$out/memcheck.log" || true
else
	note "compute-sanitizer not found: memcheck not run"
fi

# 3. deepercluster on the GPU.
smoke=skipped
# train -h exits non-zero, so its text is read first (under pipefail a
# pipe from it would count as "no flag").
train_help=""
[ -x ./deepercluster ] && train_help=$(./deepercluster train -h 2>&1 || true)
if grep -q -- '-device' <<<"$train_help" && [ "$(limit "${SMOKE_S:-45}")" -gt 0 ]; then
	echo "== deepercluster train --device cuda"
	if timeout "$(limit "${SMOKE_S:-45}")" ./deepercluster train --device cuda --dataset synthetic --out "$out/run" ${SMOKE_ARGS:---epochs 1 --max-images 2048} >"$out/smoke.log" 2>&1; then
		smoke=pass
	else
		smoke=fail
	fi
	tail -5 "$out/smoke.log"
elif grep -q -- '-device' <<<"$train_help"; then
	note "no time left for deepercluster train --device cuda"
else
	note "deepercluster has no --device flag yet: GPU training smoke test not run"
fi

# 4. Benchmarks.
: >"$out/bench.json"
if [ -x ./bench-gpu ] && [ "$(limit "${BENCH_S:-120}")" -eq 0 ]; then
	note "no time left for bench-gpu"
elif [ -x ./bench-gpu ]; then
	echo "== bench-gpu ${BENCH_ARGS:-}"
	timeout "$(limit "${BENCH_S:-120}")" ./bench-gpu ${BENCH_ARGS:-} >"$out/bench.out" 2>"$out/bench.err"
	rc=$?
	tail -5 "$out/bench.err"
	tail -1 "$out/bench.out" >"$out/bench.json"
	[ "$rc" -ne 0 ] && note "bench-gpu exited $rc"
else
	note "bench-gpu not carried (bench/gpu has no Go program yet)"
fi
: >"$out/torch.jsonl"
if [ -f ./torch_gpu.py ] && python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
	for spec in "train 32" "extract 32" "train 64" "extract 64"; do
		set -- $spec
		if [ "$(limit "${TORCH_S:-60}")" -eq 0 ]; then
			note "no time left for torch $1 $2"
			continue
		fi
		echo "== torch $1 $2 px"
		timeout "$(limit "${TORCH_S:-60}")" python3 ./torch_gpu.py "$1" "$2" 256 "${TORCH_STEPS:-30}" 5 >>"$out/torch.jsonl" 2>"$out/torch.err" ||
			note "torch $1 $2 failed: $(tail -1 "$out/torch.err")"
	done
	cat "$out/torch.jsonl"
else
	note "PyTorch with CUDA not found in python3: no torch figures"
fi

elapsed=$(($(date +%s) - start))
printf '%s\n' "${notes[@]}" >"$out/notes"
python3 - "$out" "$passed" "$failed" "$skipped" "$memcheck" "$smoke" "$arch" "$gpu" "$elapsed" <<'PY' || echo "{\"tests_passed\": $passed, \"tests_failed\": $failed, \"tests_skipped\": $skipped, \"memcheck\": \"$memcheck\", \"seconds\": $elapsed, \"notes\": [\"python3 missing: no figures\"]}"
import json, os, sys
out, passed, failed, skipped, memcheck, smoke, arch, gpu, elapsed = sys.argv[1:]
def last_json(path):
    try:
        with open(path) as f:
            lines = [l for l in f.read().splitlines() if l.strip().startswith("{")]
        return json.loads(lines[-1]) if lines else {}
    except (OSError, ValueError):
        return {}
ours = last_json(os.path.join(out, "bench.json"))
torch = {}
try:
    with open(os.path.join(out, "torch.jsonl")) as f:
        for line in f:
            try:
                r = json.loads(line)
                torch[(r["mode"], r["res"])] = r["ips"]
            except (ValueError, KeyError):
                pass
except OSError:
    pass
with open(os.path.join(out, "notes")) as f:
    notes = [n for n in f.read().splitlines() if n]
res = {
    "arch": arch, "gpu": gpu or None,
    "tests_passed": int(passed), "tests_failed": int(failed), "tests_skipped": int(skipped),
    "memcheck": memcheck, "deepercluster_train_cuda": smoke,
    "train_ips": ours.get("train_ips"), "extract_ips": ours.get("extract_ips"),
    "train_ips_64": ours.get("train_ips_64"), "extract_ips_64": ours.get("extract_ips_64"),
    "train_ips_torch": torch.get(("train", 32)), "extract_ips_torch": torch.get(("extract", 32)),
    "train_ips_torch_64": torch.get(("train", 64)), "extract_ips_torch_64": torch.get(("extract", 64)),
    "kmeans_1m_s": ours.get("kmeans_1m_s"),
}
res["ratio_vs_torch_gpu"] = round(res["train_ips"] / res["train_ips_torch"], 3) if res["train_ips"] and res["train_ips_torch"] else None
def bench_us(name):
    try:
        with open(os.path.join(out, "device.test.log")) as f:
            for line in f:
                fields = line.split()
                if fields and fields[0].startswith("BenchmarkCUDALaunch/" + name) and "ns/op" in fields:
                    return round(float(fields[fields.index("ns/op") - 1]) / 1e3, 2)
    except (OSError, ValueError):
        pass
    return None
res["launch_us"] = bench_us("launch")
res["graph10_launch_us"] = bench_us("graph10")
res["bench"] = ours
res["seconds"] = int(elapsed)
res["notes"] = notes
print(json.dumps(res))
PY

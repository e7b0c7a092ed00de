#!/usr/bin/env bash
# make bench-train: our CPU backend against PyTorch on the same network and
# step, at 32x32 and 64x64 px. Last line: one JSON object.
#
# The network: the default small VGG (trainer.DefaultModelConfig: widths
# 16/32/64, two 3x3 conv+BN+ReLU per stage, 2x2 max-pool, fc 128, fc 128)
# with DeeperCluster heads for m=4 (16 super-classes) and k=16; a training
# step is forward, both cross-entropies, backward and SGD (momentum 0.9,
# weight decay 1e-5) at batch 64; extraction is the eval-mode features of
# batches of 256. PyTorch (scripts/train_peer.py) is Debian's python3-torch
# (/usr/bin/python3) with 2 threads (ours: GOMAXPROCS=2),
# OPENBLAS_CORETYPE=SkylakeX, a malloc setting that spares it a page fault
# per activation (see below), the same batches, warm-up and number of
# timed steps.
#
# Noise: the machine may be shared. Each of ROUNDS rounds (default 3) runs,
# for every measurement, ours and then PyTorch, back to back, each for
# WARMUP untimed and STEPS timed steps (defaults 3 and 50); the figures are
# medians over the rounds, and a ratio is the median of the rounds' own
# ratios (ours and torch measured a few seconds apart). CPU time per image
# (user+system) is reported beside the wall-clock figures: it moves much
# less than wall time under load. The 1-minute load average is printed
# before every measurement; `load_avg` is the highest seen.
#
# Also: the effective GFLOP/s of our training step (trainFLOPs in
# bench/train: convolutions and fc layers, forward and both gradients) next
# to our SGEMM's peak on this machine in the same run, and the peak RSS of
# a process that trains at 64 px, batch 64 (ours, and torch's for scale).
#
# The opencl column (opencl_train_ips, opencl_extract_ips at 32 px) is the
# GPU backend over OpenCL, PoCL on this machine: scripts/bench-train-opencl.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-50}
WARMUP=${WARMUP:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# 2 threads each: torch.set_num_threads(2) (and its BLAS), GOMAXPROCS=2
export OPENBLAS_CORETYPE=SkylakeX OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2 GOMAXPROCS=2
# PyTorch's activations at batch 64-256 are 16-67 MB; with glibc's default
# malloc each one is a fresh mmap, freed to the OS after use, and this VM
# spends 40-45% of PyTorch's time in page faults (train 32 px, one thread:
# 2.9 CPU ms/img with the defaults, 0.77 with the setting below; extract
# 64 px: 19 and 2.1). A peer crippled by its allocator would flatter us, so
# it gets the setting that keeps freed memory in the heap, as it gets
# OPENBLAS_CORETYPE. PEER_MALLOC=default measures it as before.
if [ "${PEER_MALLOC:-tuned}" = tuned ]; then
	peer_env=(MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=4294967296)
else
	peer_env=()
fi

go build -o "$tmp/benchtrain" ./bench/train

load() { cut -d' ' -f1 /proc/loadavg; }
: >"$tmp/loads"
measure() { # side mode res -> JSON line appended to $tmp/<side>_<mode>_<res>
	local side=$1 mode=$2 res=$3 l out
	l=$(load)
	echo "$l" >>"$tmp/loads"
	if [ "$side" = ours ]; then
		out=$("$tmp/benchtrain" "$mode" -res "$res" -steps "$STEPS" -warmup "$WARMUP")
	else
		out=$(env "${peer_env[@]}" $PY scripts/train_peer.py "$mode" "$res" "$STEPS" "$WARMUP")
	fi
	echo "  load $l  $side $mode ${res}px: $out" >&2
	echo "$out" >>"$tmp/${side}_${mode}_${res}"
}

echo "== peer allocator: ${PEER_MALLOC:-tuned} (${peer_env[*]:-glibc defaults}) ==" >&2
echo "== SGEMM peak (cluster.Sgemm, all cores) ==" >&2
sgemm=$("$tmp/benchtrain" sgemm)
echo "  $sgemm" >&2
for r in $(seq 1 "$ROUNDS"); do
	echo "== round $r of $ROUNDS (load average: $(cut -d' ' -f1-3 /proc/loadavg)) ==" >&2
	for spec in "train 32" "train 64" "extract 32" "extract 64"; do
		set -- $spec
		measure ours "$1" "$2"
		measure torch "$1" "$2"
	done
done
sgemm2=$("$tmp/benchtrain" sgemm)
echo "  SGEMM peak again after the rounds: $sgemm2" >&2
echo "== opencl column (the GPU backend on OpenCL: PoCL here, few steps, no target) ==" >&2
opencl=$(scripts/bench-train-opencl.sh "$tmp/benchtrain" | tail -n 1)
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

$PY - "$tmp" "$sgemm" "$sgemm2" "$opencl" <<'PY'
import json, os, statistics, sys
tmp, sg1, sg2 = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
def runs(side, mode, res):
    return [json.loads(l) for l in open(f"{tmp}/{side}_{mode}_{res}")]
med = statistics.median
out, extra = {}, {}
def pair(mode, res):
    o, t = runs("ours", mode, res), runs("torch", mode, res)
    ratios = [a["ips"] / b["ips"] for a, b in zip(o, t)]
    cpu_ratios = [b["cpu_ms_per_img"] / a["cpu_ms_per_img"] for a, b in zip(o, t)]
    print(f"{mode} {res}px: ours {[round(a['ips'], 1) for a in o]} img/s, torch {[round(b['ips'], 1) for b in t]} img/s, "
          f"ratios {[round(r, 3) for r in ratios]}; CPU ms/img ours {[round(a['cpu_ms_per_img'], 3) for a in o]}, "
          f"torch {[round(b['cpu_ms_per_img'], 3) for b in t]}", file=sys.stderr)
    return o, t, round(med(ratios), 4), round(med(cpu_ratios), 4)
o, t, r, cr = pair("train", 32)
out.update(train_ours_ips=round(med(a["ips"] for a in o), 2), train_torch_ips=round(med(b["ips"] for b in t), 2), ratio_vs_torch=r)
extra.update(train_cpu_ratio_vs_torch=cr)
gflops = round(med(a["gflops"] for a in o), 2)
o, t, r, cr = pair("extract", 32)
out.update(extract_ours_ips=round(med(a["ips"] for a in o), 2), extract_torch_ips=round(med(b["ips"] for b in t), 2), extract_ratio_vs_torch=r)
extra.update(extract_cpu_ratio_vs_torch=cr)
o, t, r, cr = pair("train", 64)
out.update(ratio_vs_torch_64px=r)
extra.update(train_ours_ips_64px=round(med(a["ips"] for a in o), 2), train_torch_ips_64px=round(med(b["ips"] for b in t), 2),
             train_cpu_ratio_vs_torch_64px=cr, train_torch_rss_mb_64px=round(max(b["rss_mb"] for b in t), 1))
rss64 = round(max(a["rss_mb"] for a in o), 1)
o, t, r, cr = pair("extract", 64)
out.update(extract_ratio_vs_torch_64px=r)
extra.update(extract_ours_ips_64px=round(med(a["ips"] for a in o), 2), extract_torch_ips_64px=round(med(b["ips"] for b in t), 2),
             extract_cpu_ratio_vs_torch_64px=cr)
loads = [float(l) for l in open(f"{tmp}/loads")]
out.update(train_gflops=gflops, sgemm_peak_gflops=round(max(sg1["gflops"], sg2["gflops"]), 1),
           load_avg=max(loads), train_rss_mb_64px=rss64)
out.update(extra)
out.update(json.loads(sys.argv[4]))
out["peer_malloc"] = os.environ.get("PEER_MALLOC", "tuned")
print(f"1-minute load averages before each measurement: {loads}", file=sys.stderr)
print(json.dumps(out))
PY

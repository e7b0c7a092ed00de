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
# (/usr/bin/python3) with THREADS threads (default 2; ours: GOMAXPROCS=THREADS),
# OPENBLAS_CORETYPE=SkylakeX, a malloc setting that spares it a page fault
# per activation (see below), the same batches, warm-up and number of
# timed steps.
#
# Noise: the machine may be shared. Each of ROUNDS rounds (default 3) runs,
# for every measurement, ours and PyTorch back to back (ours first in odd
# rounds, PyTorch first in even ones), each for WARMUP untimed and STEPS
# timed steps (defaults 3 and 50). Every measurement runs under
# scripts/quiet_run.py, which records the share of the machine's CPU that
# other processes used meanwhile (/proc/stat's busy time less the measured
# process's rusage); a pair is quiet when both shares are under QUIET_MAX
# (0.10). The figures are medians over the quiet pairs only, and a ratio
# is the median of those pairs' own ratios; `pairs_quiet` says how many
# qualified per measurement (of `pairs`), and a measurement with none is
# an error that says so (exit 1, after the JSON). CPU time per image
# (user+system) is reported beside the wall-clock figures: it moves much
# less than wall time under load. The 1-minute load average is printed
# before every measurement; `load_avg` is the highest seen.
#
# Extraction: PyTorch runs the same 256 images in sub-batches of 16, 32, 64
# and 256 and keeps its best (scripts/train_peer.py; the size is
# `torch_extract_best_batch`, at 32 and 64 px), as ours splits its batch
# into cache-sized pieces per worker. `torch_config` is the build torch
# reports (torch.__config__.show(): oneDNN / MKL / OpenBLAS, CPU capability).
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
# THREADS (2) each: torch.set_num_threads(THREADS) (and its BLAS, through
# OMP_NUM_THREADS), GOMAXPROCS=THREADS. THREADS=1 gives the one-thread
# figures of docs/PERFORMANCE.md.
THREADS=${THREADS:-2}
export OPENBLAS_CORETYPE=SkylakeX OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS GOMAXPROCS=$THREADS
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
		out=$($PY scripts/quiet_run.py "$tmp/benchtrain" "$mode" -res "$res" -steps "$STEPS" -warmup "$WARMUP" | tail -1)
	else
		out=$($PY scripts/quiet_run.py env "${peer_env[@]}" $PY scripts/train_peer.py "$mode" "$res" "$STEPS" "$WARMUP" | tail -1)
	fi
	echo "  load $l  $side $mode ${res}px: $out" >&2
	echo "$out" >>"$tmp/${side}_${mode}_${res}"
}

echo "== peer allocator: ${PEER_MALLOC:-tuned} (${peer_env[*]:-glibc defaults}) ==" >&2
torch_config=$($PY scripts/train_peer.py config)
echo "  $torch_config" >&2
echo "== SGEMM peak (cluster.Sgemm, all cores) ==" >&2
sgemm=$("$tmp/benchtrain" sgemm)
echo "  $sgemm" >&2
for r in $(seq 1 "$ROUNDS"); do
	echo "== round $r of $ROUNDS (load average: $(cut -d' ' -f1-3 /proc/loadavg)) ==" >&2
	for spec in "train 32" "train 64" "extract 32" "extract 64"; do
		set -- $spec
		if [ $((r % 2)) = 1 ]; then
			measure ours "$1" "$2"
			measure torch "$1" "$2"
		else
			measure torch "$1" "$2"
			measure ours "$1" "$2"
		fi
	done
done
sgemm2=$("$tmp/benchtrain" sgemm)
echo "  SGEMM peak again after the rounds: $sgemm2" >&2
echo "== opencl column (the GPU backend on OpenCL: PoCL here, few steps, no target) ==" >&2
opencl=$(scripts/bench-train-opencl.sh "$tmp/benchtrain" | tail -n 1)
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

rc=0
$PY - "$tmp" "$sgemm" "$sgemm2" "$torch_config" "${QUIET_MAX:-0.10}" "$opencl" <<'PY' | go run ./bench/machine -peer-threads "$THREADS" || rc=$?
import json, os, statistics, sys
tmp, sg1, sg2 = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
torch_config, quiet_max = json.loads(sys.argv[4])["torch_config"], float(sys.argv[5])
pairs_quiet, not_quiet = {}, []
def runs(side, mode, res):
    return [json.loads(l) for l in open(f"{tmp}/{side}_{mode}_{res}")]
def med(xs, nd=4):
    xs = list(xs)
    return round(statistics.median(xs), nd) if xs else None
out, extra = {}, {}
def pair(mode, res):
    """The rounds' pairs of one measurement; the quiet ones (both sides'
    others_cpu_share < quiet_max) give the figures."""
    o_all, t_all = runs("ours", mode, res), runs("torch", mode, res)
    quiet = [a["others_cpu_share"] < quiet_max and b["others_cpu_share"] < quiet_max for a, b in zip(o_all, t_all)]
    o = [a for a, q in zip(o_all, quiet) if q]
    t = [b for b, q in zip(t_all, quiet) if q]
    pairs_quiet[f"{mode}_{res}px"] = len(o)
    print(f"{mode} {res}px: ours {[round(a['ips'], 1) for a in o_all]} img/s, torch {[round(b['ips'], 1) for b in t_all]} img/s, "
          f"ratios {[round(a['ips'] / b['ips'], 3) for a, b in zip(o_all, t_all)]}; CPU ms/img ours {[round(a['cpu_ms_per_img'], 3) for a in o_all]}, "
          f"torch {[round(b['cpu_ms_per_img'], 3) for b in t_all]}; others' CPU share ours {[a['others_cpu_share'] for a in o_all]}, "
          f"torch {[b['others_cpu_share'] for b in t_all]}; quiet pairs {len(o)} of {len(quiet)}", file=sys.stderr)
    if not o:
        not_quiet.append(f"{mode} {res}px")
    return (o, t, med(a["ips"] / b["ips"] for a, b in zip(o, t)),
            med(b["cpu_ms_per_img"] / a["cpu_ms_per_img"] for a, b in zip(o, t)), o_all, t_all)
def ips(rs):
    return med((x["ips"] for x in rs), 2)
o, t, r, cr, o_all, _ = pair("train", 32)
out.update(train_ours_ips=ips(o), train_torch_ips=ips(t), ratio_vs_torch=r)
extra.update(train_cpu_ratio_vs_torch=cr)
gflops = med((a["gflops"] for a in o), 2)
o, t, r, cr, _, t_all = pair("extract", 32)
out.update(extract_ours_ips=ips(o), extract_torch_ips=ips(t), extract_ratio_vs_torch=r)
extra.update(extract_cpu_ratio_vs_torch=cr)
best_batch = {"32px": [b.get("best_batch") for b in t_all]}
o, t, r, cr, o_all, t_all = pair("train", 64)
out.update(ratio_vs_torch_64px=r)
extra.update(train_ours_ips_64px=ips(o), train_torch_ips_64px=ips(t),
             train_cpu_ratio_vs_torch_64px=cr, train_torch_rss_mb_64px=round(max(b["rss_mb"] for b in t_all), 1))
rss64 = round(max(a["rss_mb"] for a in o_all), 1)
o, t, r, cr, _, t_all = pair("extract", 64)
out.update(extract_ratio_vs_torch_64px=r)
extra.update(extract_ours_ips_64px=ips(o), extract_torch_ips_64px=ips(t),
             extract_cpu_ratio_vs_torch_64px=cr)
best_batch["64px"] = [b.get("best_batch") for b in t_all]
loads = [float(l) for l in open(f"{tmp}/loads")]
out.update(train_gflops=gflops, sgemm_peak_gflops=round(max(sg1["gflops"], sg2["gflops"]), 1),
           load_avg=max(loads), train_rss_mb_64px=rss64)
out.update(pairs_quiet=pairs_quiet, pairs=len(o_all), quiet_max=quiet_max,
           torch_extract_best_batch=best_batch, torch_config=torch_config)
out.update(extra)
out.update(json.loads(sys.argv[6]))  # the opencl column
out["peer_malloc"] = os.environ.get("PEER_MALLOC", "tuned")
# the CPU kind, micro-kernel, tile and blocking cluster chose (cluster.KernelInfo);
# bench/machine appends "cpu" right after it
out["kernel"] = sg1["kernel"]
print(f"1-minute load averages before each measurement: {loads}", file=sys.stderr)
print(json.dumps(out))
if not_quiet:
    print(f"bench-train: no quiet pair for {', '.join(not_quiet)} (other processes used {quiet_max:.0%} of the machine's CPU "
          f"or more during every round): their figures are null; rerun on a quiet machine", file=sys.stderr)
    sys.exit(1)
PY
exit "$rc"

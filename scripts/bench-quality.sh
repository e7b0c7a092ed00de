#!/usr/bin/env bash
# bench-quality: DeeperCluster on Fashion-MNIST (train split, 60,000
# images) for at most QUALITY_MINUTES (30) of training, then linear probes
# of the learned and of the random-init features of the same network
# (probe fitted on the train split, scored on the 10,000 test images),
# k-means (k=10) NMI of both against the labels, and the NMI, size
# distribution and largest super-cluster share of the method's own final
# clusters. Last line: JSON.
#
# The time cap: training gets SIGINT after QUALITY_MINUTES; `train` then
# stops at the next safe point and writes its checkpoint, which is what is
# evaluated. QUALITY_EPOCHS is set so that the run normally ends by itself
# on an idle machine; on a loaded one the cap cuts it.
#
# Settings, from short experiments (20,000 images, 3-6 epochs, probe on
# 10,000/5,000 images): every variant beat random init; no Sobel gave the
# larger k-means NMI gain (+0.03..+0.08 vs +0.01..+0.03 with Sobel, which
# gave the larger probe gain, +3.7..+4.8 points vs +2.9..+3.1); m=4 let one
# super-cluster hold 52-55% of the images, m=10 kept it under 30%; lr 0.1
# was worse than 0.05; T=1 and T=2 were alike (T=2 spends less time
# reclustering). So: m=10 super-clusters x k=8 sub-clusters, recluster
# every 2 epochs, PCA to 32 dims (of 128), lr 0.05 (cosine, see below),
# momentum 0.9, weight decay 1e-5, batch 64, random crop + flip, no Sobel.
# First full run (2026-11-27, loaded machine, 20 epochs in 24.7 min): probe
# 0.8324 vs 0.7964 random init (+3.6 points, target met); k-means(10) NMI
# 0.5085 vs 0.4982 (+0.010, target of +0.05 NOT met); own clusters NMI
# 0.50, largest super-cluster 15%. The short runs had a larger NMI gain
# (up to +0.08 after 3 epochs without reclustering) that later epochs lost.
# Two more full-split runs on a quiet machine, T=3 as in the reference:
# 6 epochs (5.5 min): probe 0.8225 vs 0.7964 (+2.6), NMI 0.5648 vs 0.4982
# (+0.067); 9 epochs (8.5 min): probe 0.8224 (+2.6), NMI 0.5236 (+0.025);
# 15 epochs with T=5 (13.5 min): probe 0.8214 (+2.5), NMI 0.5334 (+0.035).
# So each target was met, but not in the same run. Then a cosine learning-
# rate schedule (annealed to 0 over the 20 epochs; the reference keeps it
# constant), everything else as the first run, quiet machine, 20.05 min:
# probe 0.8438 vs 0.7964 (+4.74 points), NMI 0.5670 vs 0.4982 (+0.069), own
# clusters 0.49, largest super-cluster 15.7%: both targets in one run, and
# the default since. `make bench-quality` again gave the very same figures
# (20.15 min: training is deterministic for a seed). With QUALITY_SEED=2
# (20.72 min): probe 0.8551 vs 0.7845 (+7.06), NMI 0.5574 vs 0.4996
# (+0.058), own clusters 0.51, largest super-cluster 16.6%. For reference
# only (not the bench's protocol): on the 20-epoch checkpoint, k-means on the
# ReLU'd features h gave 0.581 vs 0.492, and on 64-d PCA-whitened features
# 0.569 vs 0.510.
#
# Knobs (environment): QUALITY_IMAGES training images (0: all 60000),
# QUALITY_EPOCHS (default 20), QUALITY_MINUTES (30), QUALITY_M / QUALITY_K
# (10 / 8), QUALITY_EVERY recluster period (2), QUALITY_PCA (32),
# QUALITY_LR (0.05), QUALITY_SCHEDULE (cosine; or constant), QUALITY_SEED
# (1; training is deterministic for a seed), QUALITY_WIDTH (16), QUALITY_SOBEL (0),
# QUALITY_PROBE_ITERS (1000), QUALITY_TEST test images for the probe
# (0: all 10000), QUALITY_RUN run directory (default: a new temp dir).
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_CORETYPE=SkylakeX
IMAGES=${QUALITY_IMAGES:-0}
EPOCHS=${QUALITY_EPOCHS:-20}
MINUTES=${QUALITY_MINUTES:-30}
M=${QUALITY_M:-10}
K=${QUALITY_K:-8}
EVERY=${QUALITY_EVERY:-2}
PCA=${QUALITY_PCA:-32}
LR=${QUALITY_LR:-0.05}
WIDTH=${QUALITY_WIDTH:-16}
SOBEL=${QUALITY_SOBEL:-0}
SCHEDULE=${QUALITY_SCHEDULE:-cosine}
SEED=${QUALITY_SEED:-1}
ITERS=${QUALITY_PROBE_ITERS:-1000}
TEST=${QUALITY_TEST:-0}
RUN=${QUALITY_RUN:-$(mktemp -d /tmp/dc-quality.XXXXXX)}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
BIN=$(mktemp /tmp/deepercluster.XXXXXX)
trap 'rm -f "$BIN"' EXIT
go build -o "$BIN" ./cmd/deepercluster

extra=()
[ "$SOBEL" = 1 ] && extra+=(--sobel)
echo "bench-quality: run dir $RUN, images ${IMAGES/#0/all}, epochs $EPOCHS (cap $MINUTES min), m=$M k=$K T=$EVERY pca=$PCA lr=$LR ($SCHEDULE) seed=$SEED width=$WIDTH sobel=$SOBEL" >&2
start=$(date +%s)
rc=0
timeout -s INT -k 120 "${MINUTES}m" "$BIN" train --dataset fashion-mnist --preset deepercluster --m "$M" --k "$K" \
  --recluster-every "$EVERY" --epochs "$EPOCHS" --max-images "$IMAGES" --pca-dim "$PCA" --lr "$LR" \
  --width "$WIDTH" --lr-schedule "$SCHEDULE" --seed "$SEED" "${extra[@]}" --out "$RUN" >&2 || rc=$?
end=$(date +%s)
case $rc in
0) ;;
124) echo "bench-quality: training reached the $MINUTES minute cap; evaluating its last checkpoint" >&2 ;;
*) echo "bench-quality: train failed (exit $rc)" >&2; exit "$rc" ;;
esac
train_minutes=$($PY -c "print(round(($end - $start) / 60, 2))")

learned=$("$BIN" eval --dataset fashion-mnist --checkpoint "$RUN" --max-train "$IMAGES" --probe-iters "$ITERS" --max-test "$TEST" | tail -1)
random=$("$BIN" eval --dataset fashion-mnist --checkpoint "$RUN" --max-train "$IMAGES" --probe-iters "$ITERS" --max-test "$TEST" --random-init | tail -1)
echo "learned: $learned" >&2
echo "random:  $random" >&2
$PY -c "
import json, sys
l, r = json.loads('''$learned'''), json.loads('''$random''')
print('linear probe: learned %.4f, random init %.4f (%+.2f points)' % (l['probe_acc'], r['probe_acc'], 100 * (l['probe_acc'] - r['probe_acc'])))
print('k-means(10) NMI: learned %.4f, random init %.4f (%+.4f); own clusters %.4f' % (
    l['nmi_kmeans10'], r['nmi_kmeans10'], l['nmi_kmeans10'] - r['nmi_kmeans10'], l['nmi_own_clusters']))
print('own clusters: super-cluster sizes %s; sub-cluster sizes min/median/max %s; largest super-cluster share %.3f' % (
    l.get('super_sizes'), l.get('sub_sizes_min_median_max'), l['largest_cluster_share']))
print('train minutes: $train_minutes')
print(json.dumps({'probe_acc_learned': l['probe_acc'], 'probe_acc_random': r['probe_acc'],
                  'nmi_kmeans10': l['nmi_kmeans10'], 'nmi_kmeans10_random': r['nmi_kmeans10'],
                  'nmi_own_clusters': l['nmi_own_clusters'], 'largest_cluster_share': l['largest_cluster_share'],
                  'train_minutes': $train_minutes}))
"

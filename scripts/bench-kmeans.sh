#!/usr/bin/env bash
# make bench-kmeans: seconds per Lloyd iteration of our k-means next to faiss
# and scikit-learn on the same random data, our GFLOP/s, the peak RSS of a
# N=1,000,000 D=256 k=10,000 run, and the NMI of k-means (k=10) on
# Fashion-MNIST pixels. The last line is one JSON object.
#
# Per-iteration times exclude setup and initialisation for all three:
#   ours:    time between the first and last of ITERS iterations (OnIter)
#   faiss:   faiss.Kmeans iteration_stats times (cumulative), same span
#   sklearn: (fit with max_iter=ITERS - fit with max_iter=1) / (ITERS-1),
#            KMeans(algorithm="lloyd", n_init=1, tol=0, fixed init)
# Each is run REPEAT times, alternating, and the best kept (the machine is
# shared). Peers get OPENBLAS_CORETYPE=SkylakeX and 2 threads.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
ITERS=${ITERS:-6}
REPEAT=${REPEAT:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/benchkmeans" ./bench/kmeans
# THREADS (2) each: ours (GOMAXPROCS), faiss and scikit-learn's BLAS.
THREADS=${THREADS:-2}
export OPENBLAS_CORETYPE=SkylakeX OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS GOMAXPROCS=$THREADS

cat >"$tmp/peer.py" <<'PYEOF'
import json, sys, time
import numpy as np
which, path, k, iters = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
x = np.load(path)
n, d = x.shape
if which == "faiss":
    import faiss
    import os
    faiss.omp_set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    km = faiss.Kmeans(d, k, niter=iters, seed=1, max_points_per_centroid=n // k + 1, verbose=False)
    km.train(x)
    t = [s["time"] for s in km.iteration_stats]
    per = (t[-1] - t[0]) / (len(t) - 1)
else:
    from sklearn.cluster import KMeans
    init = x[:k].copy()
    def fit(it):
        t0 = time.perf_counter()
        KMeans(k, init=init, n_init=1, max_iter=it, tol=0, algorithm="lloyd").fit(x)
        return time.perf_counter() - t0
    t1 = fit(1)
    tn = fit(iters)
    per = (tn - t1) / (iters - 1)
print(json.dumps({"s_per_iter": per}))
PYEOF

results="$tmp/results.jsonl"
: >"$results"
for c in "60000 256 1000" "200000 128 1000"; do
	read -r n d k <<<"$c"
	npy="$tmp/x_${n}_${d}.npy"
	"$tmp/benchkmeans" gen -n "$n" -d "$d" -seed 1 -out "$npy"
	for r in $(seq "$REPEAT"); do
		ours=$("$tmp/benchkmeans" time -in "$npy" -k "$k" -iters "$ITERS")
		echo "n=$n d=$d k=$k run $r ours: $ours"
		faiss=$($PY "$tmp/peer.py" faiss "$npy" "$k" "$ITERS" 2>/dev/null | tail -1)
		echo "n=$n d=$d k=$k run $r faiss: $faiss"
		sk=$($PY "$tmp/peer.py" sklearn "$npy" "$k" "$ITERS" 2>/dev/null | tail -1)
		echo "n=$n d=$d k=$k run $r sklearn: $sk"
		echo "{\"n\": $n, \"d\": $d, \"k\": $k, \"ours\": $ours, \"faiss\": $faiss, \"sklearn\": $sk}" >>"$results"
	done
	rm -f "$npy"
done

echo "peak RSS: N=1,000,000 D=256 k=10,000, 1 iteration (takes a minute)..."
rss=$("$tmp/benchkmeans" rss -n 1000000 -d 256 -k 10000 -iters 1)
echo "$rss"
echo "Fashion-MNIST pixels, k=10, k-means++, mean of 3 seeds..."
fm=$("$tmp/benchkmeans" fmnist)
echo "$fm"

$PY - "$results" "$rss" "$fm" <<'PYEOF' | go run ./bench/machine -peer-threads "$THREADS"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
rss, fm = json.loads(sys.argv[2]), json.loads(sys.argv[3])
cases = []
for key in dict.fromkeys((r["n"], r["d"], r["k"]) for r in rows):
    rs = [r for r in rows if (r["n"], r["d"], r["k"]) == key]
    n, d, k = key
    ours = min(r["ours"]["s_per_iter"] for r in rs)
    faiss = min(r["faiss"]["s_per_iter"] for r in rs)
    sk = min(r["sklearn"]["s_per_iter"] for r in rs)
    cases.append({"n": n, "d": d, "k": k, "ours_s": round(ours, 4), "faiss_s": round(faiss, 4),
                  "sklearn_s": round(sk, 4), "ratio_vs_faiss": round(ours / faiss, 3),
                  "gflops": round(2 * n * d * k / ours / 1e9, 1)})
for c in cases:
    print("n=%(n)d d=%(d)d k=%(k)d: ours %(ours_s).3f s, faiss %(faiss_s).3f s, sklearn %(sklearn_s).3f s per iteration; ours/faiss %(ratio_vs_faiss).2f; %(gflops).0f GFLOP/s" % c)
print("peak RSS %.0f MB (features %.0f MB, %.0f MB beyond)" % (rss["peak_rss_mb"], rss["features_mb"], rss["beyond_features_mb"]))
print(json.dumps({"cases": cases, "peak_rss_1m_mb": round(rss["peak_rss_mb"], 1),
                  "fashion_mnist_pixels_nmi": round(fm["nmi"], 4)}))
PYEOF

#!/usr/bin/python3
"""quality_agg: the last step of scripts/bench-quality.sh.

per_seed(learned, random, peer, peer_meta, ...) turns one seed's `eval`
lines (ours, ours untrained, the peer) into that seed's figures;
aggregate(rows, ...) gathers the seeds: every per-seed figure kept under
"per_seed", and every headline key given a `_mean` and an `_sd` (the
sample standard deviation, n - 1; null for a single seed), for ours, the
peer and the untrained baseline alike (nmi_kmeans10_mean,
nmi_kmeans10_peer_mean, nmi_kmeans10_random_mean, probe_acc_learned_mean,
probe_acc_peer_mean, ...). "Ahead" (nmi_kmeans10_ahead_of_peer,
probe_acc_ahead_of_peer) needs the means apart by more than the larger sd.

  /usr/bin/python3 scripts/quality_agg.py per-seed SEED LEARNED RANDOM PEER PEER_META TRAIN_MINUTES LOAD_JSON
  /usr/bin/python3 scripts/quality_agg.py aggregate PER_SEED.jsonl KEY=VALUE...
  /usr/bin/python3 scripts/quality_agg.py table SWEEP.jsonl   (scripts/sweep-quality.sh's lines)

Tests: /usr/bin/python3 scripts/test_quality_agg.py (no torch needed).
"""

import json
import math
import sys

# HEADLINE are the per-seed figures that get a _mean and an _sd: ours,
# ours untrained (_random) and the peer (_peer).
HEADLINE = [
    "nmi_kmeans10", "acc_kmeans10", "ari_kmeans10",
    "nmi_kmeans10_random", "acc_kmeans10_random", "ari_kmeans10_random",
    "nmi_kmeans10_peer", "acc_kmeans10_peer", "ari_kmeans10_peer",
    "probe_acc_learned", "probe_acc_random", "probe_acc_peer",
    "probe_train_acc", "probe_train_acc_random", "probe_train_acc_peer",
    "largest_cluster_share", "nmi_own_clusters",
    "train_minutes", "train_minutes_peer", "epochs", "epochs_peer",
    # The neighbour-consistency refinement (QUALITY_REFINE=1, eval
    # --refine): beyond DeeperCluster, a column of its own; None without it.
    "nmi_kmeans10_refined", "acc_kmeans10_refined", "ari_kmeans10_refined", "refine_confident",
    "nmi_kmeans10_refined_peer", "acc_kmeans10_refined_peer", "ari_kmeans10_refined_peer",
]


def per_seed(seed, learned, random, peer, peer_meta, train_minutes, loads):
    """One seed's figures from the evaluator's JSON objects (peer and
    peer_meta empty when the peer was skipped)."""
    l, r, p, pm = learned, random, peer, peer_meta
    return {
        "seed": seed,
        "nmi_kmeans10": l["nmi_kmeans10"], "acc_kmeans10": l["acc_kmeans10"], "ari_kmeans10": l["ari_kmeans10"],
        "nmi_kmeans10_random": r["nmi_kmeans10"], "acc_kmeans10_random": r["acc_kmeans10"],
        "ari_kmeans10_random": r["ari_kmeans10"],
        "nmi_kmeans10_peer": p.get("nmi_kmeans10"), "acc_kmeans10_peer": p.get("acc_kmeans10"),
        "ari_kmeans10_peer": p.get("ari_kmeans10"),
        "probe_acc_learned": l["probe_acc"], "probe_acc_random": r["probe_acc"], "probe_acc_peer": p.get("probe_acc"),
        "probe_train_acc": l["probe_train_acc"], "probe_train_acc_random": r["probe_train_acc"],
        "probe_train_acc_peer": p.get("probe_train_acc"),
        "probe_converged": bool(l["probe_converged"] and r["probe_converged"] and p.get("probe_converged", True)),
        "largest_cluster_share": l["largest_cluster_share"], "nmi_own_clusters": l["nmi_own_clusters"],
        "train_minutes": train_minutes, "train_minutes_peer": pm.get("train_minutes"),
        "epochs": l["epochs"], "epochs_peer": pm.get("epochs_done"),
        "bn_reestimated_random": r["bn_reestimated"],
        "load_ours": loads.get("ours"), "load_peer": loads.get("peer"),
        "nmi_kmeans10_refined": l.get("nmi_kmeans10_refined"), "acc_kmeans10_refined": l.get("acc_kmeans10_refined"),
        "ari_kmeans10_refined": l.get("ari_kmeans10_refined"), "refine_confident": l.get("refine_confident"),
        "refine": l.get("refine"), "refine_fit": l.get("refine_fit"),
        "nmi_kmeans10_refined_peer": p.get("nmi_kmeans10_refined"),
        "acc_kmeans10_refined_peer": p.get("acc_kmeans10_refined"),
        "ari_kmeans10_refined_peer": p.get("ari_kmeans10_refined"),
    }


def mean_sd(values):
    """Mean and sample standard deviation (n - 1) of the values that are
    not None; sd is None below two values, both None with none."""
    v = [float(x) for x in values if x is not None]
    if not v:
        return None, None
    m = sum(v) / len(v)
    if len(v) < 2:
        return m, None
    return m, math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))


def ahead(rows, ours, peer):
    """Whether our mean is above the peer's by more than the larger of the
    two sds (None when either side is missing or has a single seed)."""
    mo, so = mean_sd(r.get(ours) for r in rows)
    mp, sp = mean_sd(r.get(peer) for r in rows)
    if None in (mo, so, mp, sp):
        return None
    return mo - mp > max(so, sp)


def aggregate(rows, extra=None):
    """All seeds: the per-seed rows, KEY_mean and KEY_sd for every
    headline KEY, the seeds, whether every probe converged, the ahead
    verdicts, and extra (dataset, split, threads...) at the top level."""
    if not rows:
        raise ValueError("no seeds to aggregate")
    out = dict(extra or {})
    out["seeds"] = [r["seed"] for r in rows]
    for k in HEADLINE:
        m, s = mean_sd(r.get(k) for r in rows)
        out[k + "_mean"] = m
        out[k + "_sd"] = s
    out["probe_converged"] = all(r["probe_converged"] for r in rows)
    out["nmi_kmeans10_ahead_of_peer"] = ahead(rows, "nmi_kmeans10", "nmi_kmeans10_peer")
    out["probe_acc_ahead_of_peer"] = ahead(rows, "probe_acc_learned", "probe_acc_peer")
    out["per_seed"] = rows
    return out


def fmt(m, s):
    if m is None:
        return "-"
    return "%.4f" % m if s is None else "%.4f ± %.4f" % (m, s)


def summary(out):
    """Human lines for stderr: mean ± sd of ours, the peer and untrained."""
    lines = []
    for name, key in (("NMI", "nmi_kmeans10"), ("ACC", "acc_kmeans10"), ("ARI", "ari_kmeans10"),
                      ("probe", "probe_acc_learned")):
        base = key.replace("_learned", "")
        lines.append("%-5s ours %s, peer %s, untrained %s" % (
            name, fmt(out[key + "_mean"], out[key + "_sd"]),
            fmt(out[base + "_peer_mean"], out[base + "_peer_sd"]),
            fmt(out[base + "_random_mean"], out[base + "_random_sd"])))
    if out.get("nmi_kmeans10_refined_mean") is not None:
        for name, key in (("NMI", "nmi_kmeans10"), ("ACC", "acc_kmeans10"), ("ARI", "ari_kmeans10")):
            lines.append("%-5s refined: ours %s, peer %s" % (
                name, fmt(out[key + "_refined_mean"], out[key + "_refined_sd"]),
                fmt(out[key + "_refined_peer_mean"], out[key + "_refined_peer_sd"])))
    lines.append("seeds %s; ahead of the peer by more than the larger sd: NMI %s, probe %s" % (
        out["seeds"], out["nmi_kmeans10_ahead_of_peer"], out["probe_acc_ahead_of_peer"]))
    return lines


def table(entries):
    """A Markdown table of sweep entries ({"config", "result"}), best
    validation NMI mean first: each configuration's means ± sds of ours
    and the peer's NMI mean. An entry scored on another split than val is
    refused: the sweep chooses settings on validation only."""
    for e in entries:
        split = e["result"].get("val_or_test")
        if split != "val":
            raise ValueError("sweep entry %s was scored on %r, not val" % (e["config"], split))
    rows = sorted(entries, key=lambda e: -(e["result"].get("nmi_kmeans10_mean") or -1))
    out = ["| configuration | seeds | NMI | ACC | ARI | probe | peer NMI |", "|---|---|---|---|---|---|---|"]
    for e in rows:
        r = e["result"]
        cfg = " ".join("%s=%s" % (k, v) for k, v in sorted(e["config"].items())) or "(defaults)"
        out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            cfg, " ".join(str(x) for x in r.get("seeds", [])),
            fmt(r.get("nmi_kmeans10_mean"), r.get("nmi_kmeans10_sd")),
            fmt(r.get("acc_kmeans10_mean"), r.get("acc_kmeans10_sd")),
            fmt(r.get("ari_kmeans10_mean"), r.get("ari_kmeans10_sd")),
            fmt(r.get("probe_acc_learned_mean"), r.get("probe_acc_learned_sd")),
            fmt(r.get("nmi_kmeans10_peer_mean"), r.get("nmi_kmeans10_peer_sd"))))
    return out


def parse_value(v):
    try:
        return json.loads(v)
    except ValueError:
        return v


def main(argv):
    if len(argv) >= 1 and argv[0] == "per-seed" and len(argv) == 8:
        seed = int(argv[1])
        objs = [json.loads(a) if a.strip() else {} for a in argv[2:6]]
        print(json.dumps(per_seed(seed, *objs, float(argv[6]), json.loads(argv[7]))))
        return 0
    if len(argv) >= 2 and argv[0] == "aggregate":
        with open(argv[1]) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        extra = {}
        for kv in argv[2:]:
            k, sep, v = kv.partition("=")
            if not sep:
                raise SystemExit("quality_agg: %r: want KEY=VALUE" % kv)
            extra[k] = parse_value(v)
        out = aggregate(rows, extra)
        for line in summary(out):
            print(line, file=sys.stderr)
        print(json.dumps(out))
        return 0
    if len(argv) == 2 and argv[0] == "table":
        with open(argv[1]) as f:
            entries = [json.loads(line) for line in f if line.strip()]
        print("\n".join(table(entries)))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

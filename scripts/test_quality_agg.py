#!/usr/bin/python3
"""Checks of scripts/quality_agg.py (no torch):
`/usr/bin/python3 scripts/test_quality_agg.py`."""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quality_agg as a  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def ev(nmi, probe, converged=True):
    """An eval line as `deepercluster eval` prints it (the keys used)."""
    return {"nmi_kmeans10": nmi, "acc_kmeans10": nmi + 0.01, "ari_kmeans10": nmi - 0.1, "probe_acc": probe,
            "probe_train_acc": probe + 0.01, "probe_converged": converged, "largest_cluster_share": 0.14,
            "nmi_own_clusters": 0.5, "epochs": 12, "bn_reestimated": True}


def row(seed, nmi, peer_nmi, probe=0.84, peer_probe=0.83, peer=True):
    p = ev(peer_nmi, peer_probe) if peer else {}
    pm = {"train_minutes": 5.0, "epochs_done": 12} if peer else {}
    return a.per_seed(seed, ev(nmi, probe), ev(0.42, 0.73), p, pm, 4.2, {"ours": [1.6, 2.0], "peer": [1.7, 1.6]})


class TestAggregate(unittest.TestCase):
    def test_mean_sd_per_key(self):
        rows = [row(1, 0.64, 0.59), row(2, 0.66, 0.62), row(3, 0.65, 0.60)]
        out = a.aggregate(rows, {"nproc": 2})
        self.assertEqual(out["seeds"], [1, 2, 3])
        self.assertEqual(out["nproc"], 2)
        self.assertAlmostEqual(out["nmi_kmeans10_mean"], 0.65)
        self.assertAlmostEqual(out["nmi_kmeans10_sd"], statistics.stdev([0.64, 0.66, 0.65]))
        self.assertAlmostEqual(out["nmi_kmeans10_peer_mean"], statistics.mean([0.59, 0.62, 0.60]))
        self.assertAlmostEqual(out["nmi_kmeans10_peer_sd"], statistics.stdev([0.59, 0.62, 0.60]))
        self.assertAlmostEqual(out["nmi_kmeans10_random_mean"], 0.42)
        self.assertAlmostEqual(out["nmi_kmeans10_random_sd"], 0.0)
        self.assertAlmostEqual(out["probe_acc_learned_mean"], 0.84)
        self.assertAlmostEqual(out["probe_acc_peer_mean"], 0.83)
        for k in a.HEADLINE:
            self.assertIn(k + "_mean", out)
            self.assertIn(k + "_sd", out)
        self.assertEqual([r["nmi_kmeans10"] for r in out["per_seed"]], [0.64, 0.66, 0.65])
        self.assertTrue(out["probe_converged"])

    def test_ahead_needs_more_than_the_larger_sd(self):
        tests = [
            # (ours, peer, want): means 0.65 vs 0.60, sds 0.01 / 0.02 -> ahead
            ([0.64, 0.66, 0.65], [0.58, 0.62, 0.60], True),
            # the case: +0.016 inside the peer's spread
            ([0.6405, 0.6405, 0.6405], [0.5906, 0.6247, 0.6500], False),
            ([0.60, 0.60, 0.60], [0.65, 0.64, 0.66], False),
        ]
        for ours, peer, want in tests:
            rows = [row(i + 1, o, p) for i, (o, p) in enumerate(zip(ours, peer))]
            self.assertEqual(a.aggregate(rows)["nmi_kmeans10_ahead_of_peer"], want, (ours, peer))

    def test_one_seed_and_no_peer(self):
        out = a.aggregate([row(7, 0.64, 0, peer=False)])
        self.assertAlmostEqual(out["nmi_kmeans10_mean"], 0.64)
        self.assertIsNone(out["nmi_kmeans10_sd"])
        self.assertIsNone(out["nmi_kmeans10_peer_mean"])
        self.assertIsNone(out["nmi_kmeans10_ahead_of_peer"])
        self.assertIsNone(out["epochs_peer_mean"])
        with self.assertRaises(ValueError):
            a.aggregate([])

    def test_refined_keys(self):
        # QUALITY_REFINE=1: eval --refine adds the refined keys, which get a
        # _mean and _sd of their own; without it they are None.
        def refined(nmi):
            e = ev(0.64, 0.84)
            e.update({"nmi_kmeans10_refined": nmi, "acc_kmeans10_refined": nmi + 0.02,
                      "ari_kmeans10_refined": nmi - 0.1, "refine_confident": 0.8, "refine": {"neighbours": 20}})
            return a.per_seed(1, e, ev(0.42, 0.73), {}, {}, 4.0, {})
        out = a.aggregate([refined(0.70), refined(0.72)])
        self.assertAlmostEqual(out["nmi_kmeans10_refined_mean"], 0.71)
        self.assertAlmostEqual(out["nmi_kmeans10_refined_sd"], statistics.stdev([0.70, 0.72]))
        self.assertAlmostEqual(out["acc_kmeans10_refined_mean"], 0.73)
        self.assertAlmostEqual(out["nmi_kmeans10_mean"], 0.64)
        self.assertIsNone(out["nmi_kmeans10_refined_peer_mean"])
        self.assertEqual(out["per_seed"][0]["refine"], {"neighbours": 20})
        self.assertTrue(any("refined" in line for line in a.summary(out)))
        plain = a.aggregate([row(1, 0.64, 0.6)])
        self.assertIsNone(plain["nmi_kmeans10_refined_mean"])
        self.assertFalse(any("refined" in line for line in a.summary(plain)))

    def test_unconverged_probe_is_reported(self):
        r = a.per_seed(1, ev(0.6, 0.8, converged=False), ev(0.4, 0.7), {}, {}, 1.0, {})
        self.assertFalse(a.aggregate([r, row(2, 0.6, 0.6)])["probe_converged"])

    def test_command_line(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "per_seed.jsonl")
            with open(path, "w") as f:
                for seed, nmi in ((1, 0.6), (2, 0.7)):
                    line = subprocess.run(
                        [sys.executable, os.path.join(HERE, "quality_agg.py"), "per-seed", str(seed),
                         json.dumps(ev(nmi, 0.8)), json.dumps(ev(0.4, 0.7)), "", "", "3.5", "{}"],
                        check=True, capture_output=True, text=True).stdout
                    f.write(line)
            res = subprocess.run([sys.executable, os.path.join(HERE, "quality_agg.py"), "aggregate", path,
                                  "gomaxprocs=2", "peer_threads=2", "nproc=16", "dataset=mnist"],
                                 check=True, capture_output=True, text=True)
            out = json.loads(res.stdout.strip().splitlines()[-1])
            self.assertEqual((out["gomaxprocs"], out["peer_threads"], out["nproc"], out["dataset"]), (2, 2, 16, "mnist"))
            self.assertAlmostEqual(out["nmi_kmeans10_mean"], 0.65)
            self.assertAlmostEqual(out["train_minutes_mean"], 3.5)
            self.assertIn("NMI", res.stderr)


    def test_sweep_table(self):
        good = a.aggregate([row(1, 0.60, 0.59), row(2, 0.62, 0.60)], {"val_or_test": "val"})
        best = a.aggregate([row(1, 0.70, 0.59), row(2, 0.72, 0.60)], {"val_or_test": "val"})
        lines = a.table([{"config": {"QUALITY_K": "8"}, "result": good},
                         {"config": {"QUALITY_K": "16"}, "result": best}])
        self.assertEqual(len(lines), 4)
        self.assertIn("QUALITY_K=16", lines[2])  # best NMI first
        self.assertIn("0.7100 ± 0.0141", lines[2])
        self.assertIn("QUALITY_K=8", lines[3])
        test = dict(good, val_or_test="test")
        with self.assertRaises(ValueError):
            a.table([{"config": {}, "result": test}])


if __name__ == "__main__":
    unittest.main()

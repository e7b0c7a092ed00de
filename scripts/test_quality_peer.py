#!/usr/bin/python3
"""Checks of scripts/quality_peer.py against ports of our Go code (a few
seconds): `/usr/bin/python3 scripts/test_quality_peer.py`."""

import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quality_peer as q  # noqa: E402

R = q.RES


def go_augment(src, dx, dy, flip):
    """trainer/data.go augment, pixel by pixel (one grey plane)."""
    dst = np.zeros_like(src)
    for y in range(R):
        sy = y + dy
        for x in range(R):
            sx = x + dx
            if sy < 0 or sy >= R or sx < 0 or sx >= R:
                continue
            if flip:
                sx = R - 1 - sx
            dst[y, x] = src[sy, sx]
    return dst


def go_rotate(src, r):
    """internal/rotate.Image, pixel by pixel."""
    dst = np.zeros_like(src)
    last = R - 1
    for y in range(R):
        for x in range(R):
            if r == 0:
                dst[y, x] = src[y, x]
            elif r == 1:
                dst[y, x] = src[x, last - y]
            elif r == 2:
                dst[y, x] = src[last - y, last - x]
            else:
                dst[y, x] = src[last - x, y]
    return dst


class TestPeer(unittest.TestCase):
    def test_augment_and_rotate_match_go(self):
        rng = np.random.default_rng(3)
        imgs = rng.integers(1, 256, size=(6, R, R), dtype=np.uint8)
        aug = q.Augmenter(imgs, rng)
        self.assertEqual(aug.pad, 3)
        idx = np.array([0, 1, 2, 3, 4, 5, 0, 1])
        dx = np.array([-3, 3, 0, 2, -1, 1, 3, -3])
        dy = np.array([3, -3, 0, -2, 1, 0, 3, -3])
        flip = np.array([True, False, True, False, True, False, False, True])
        rot = np.array([0, 1, 2, 3, 1, 2, 3, 0])
        got = aug.apply(idx, dx, dy, flip, rot)
        for j in range(len(idx)):
            want = go_rotate(go_augment(imgs[idx[j]], dx[j], dy[j], flip[j]), rot[j])
            np.testing.assert_array_equal(got[j], want, err_msg="sample %d" % j)

    def test_no_flip_draws_like_flip(self):
        # --no-flip: the same draws as with flips, no sample mirrored, and
        # the samples that were not flipped identical.
        imgs = np.random.default_rng(4).integers(1, 256, size=(5, R, R), dtype=np.uint8)
        with_flip = q.Augmenter(imgs, np.random.default_rng(9))
        no_flip = q.Augmenter(imgs, np.random.default_rng(9), flip=False)
        idx, rot = np.arange(5).repeat(40), np.zeros(200, dtype=int)
        a, b = with_flip.batch(idx, rot), no_flip.batch(idx, rot)
        rng = np.random.default_rng(9)
        dx = rng.integers(-3, 4, size=200)
        dy = rng.integers(-3, 4, size=200)
        flipped = rng.integers(0, 2, size=200) == 1
        self.assertTrue(20 < flipped.sum() < 180)
        for j in range(200):
            np.testing.assert_array_equal(b[j], go_augment(imgs[idx[j]], dx[j], dy[j], False), err_msg="sample %d" % j)
            if not flipped[j]:
                np.testing.assert_array_equal(a[j], b[j], err_msg="sample %d" % j)

    def test_input_normalisation(self):
        import torch
        x = q.to_input(torch, np.array([[[0, 255] + [51] * (R - 2)] * R], dtype=np.uint8))
        self.assertEqual(tuple(x.shape), (1, 3, R, R))
        self.assertAlmostEqual(float(x[0, 0, 0, 0]), -2.0, places=6)
        self.assertAlmostEqual(float(x[0, 2, 0, 1]), 2.0, places=5)
        self.assertAlmostEqual(float(x[0, 1, 0, 2]), 51 / 63.75 - 2, places=5)

    def test_sample_uniform_quota(self):
        rng = np.random.default_rng(1)
        labels = np.array([0] * 500 + [1] * 30 + [3] * 70)  # label 2 empty
        out = q.sample_uniform(labels, 4, 600, rng)
        self.assertEqual(len(out), 600)
        quota = 600 // 3 + 1
        counts = np.bincount(labels[out], minlength=4)
        self.assertEqual(counts[2], 0)
        self.assertTrue(all(c <= quota for c in counts), counts)
        self.assertGreaterEqual(counts.sum(), 600)
        big = out[labels[out] == 0]
        self.assertEqual(len(big), len(set(big.tolist())))  # without replacement

    def test_pca_whitening(self):
        rng = np.random.default_rng(2)
        x = (rng.standard_normal((4000, 8)) @ rng.standard_normal((8, 8)) + 5).astype(np.float32)
        y = q.pca_whiten(x, 5).astype(np.float64)
        self.assertEqual(y.shape, (4000, 5))
        np.testing.assert_allclose(np.cov(y, rowvar=False), np.eye(5), atol=1e-3)
        z = q.l2_normalize(y.astype(np.float32))
        np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1, atol=1e-5)

    def test_network_shapes_and_init(self):
        import torch
        torch.manual_seed(0)
        Trunk, Heads = q.build_modules(torch)
        t = Trunk(16, 3, 2, 128, False)
        self.assertEqual(t.fc1.in_features, 3 * 3 * 64)  # 28 -> 14 -> 7 -> 3
        convs = [m for m in t.features if isinstance(m, torch.nn.Conv2d)]
        self.assertEqual([c.out_channels for c in convs], [16, 16, 32, 32, 64, 64])
        self.assertAlmostEqual(float(convs[-1].weight.std()), (2 / (9 * 64)) ** 0.5, delta=0.003)
        self.assertEqual(sum(p.numel() for p in t.parameters()),
                         9 * (3 * 16 + 16 * 16 + 16 * 32 + 32 * 32 + 32 * 64 + 64 * 64)
                         + 2 * (16 + 16 + 32 + 32 + 64 + 64) + 576 * 128 + 128 + 128 * 128 + 128)
        ts = Trunk(16, 3, 2, 128, True)
        self.assertEqual(ts.features[0].in_channels, 2)
        t.eval()
        f = t(torch.zeros(5, 3, R, R))
        self.assertEqual(tuple(f.shape), (5, 128))
        h = Heads(40, 8, 128)
        sup = torch.tensor([0, 39, 5, 5, 12])
        ls, lz = h(torch.relu(f), sup)
        self.assertEqual(tuple(ls.shape), (5, 40))
        self.assertEqual(tuple(lz.shape), (5, 8))
        # W_s of each sample's own super-class
        want = torch.relu(f)[1] @ h.W[39] + h.Wb[39]
        torch.testing.assert_close(lz[1], want)

    def test_extract_stages(self):
        # extract_stages (eval --refine-stages' files): one block per stage,
        # as wide as the stage, and the last one feeds extract's features.
        import torch
        torch.manual_seed(1)
        Trunk, _ = q.build_modules(torch)
        t = Trunk(4, 3, 2, 6, False)
        imgs = np.random.default_rng(2).integers(0, 256, size=(7, R, R), dtype=np.uint8)
        st = q.extract_stages(torch, t, imgs, batch=3)
        self.assertEqual([s.shape for s in st], [(7, 14 * 14 * 4), (7, 7 * 7 * 8), (7, 3 * 3 * 16)])
        self.assertTrue(t.training)
        t.eval()
        with torch.no_grad():
            f = t.fc2(torch.relu(t.fc1(torch.from_numpy(st[-1])))).numpy()
        np.testing.assert_allclose(f, q.extract(torch, t, imgs), rtol=1e-5, atol=1e-5)

    def test_sobel_layout(self):
        w = q.sobel_weights()
        self.assertEqual(w.shape, (2, 3, 3, 3))
        np.testing.assert_allclose(w[0, 1].ravel() * 3, [1, 0, -1, 2, 0, -2, 1, 0, -1])
        np.testing.assert_allclose(w[1, 2].ravel() * 3, [1, 2, 1, 0, 0, 0, -1, -2, -1])

    def test_sobel_flag_forms(self):
        ap = q.build_parser()
        o = ["--out", "/nonexistent"]
        self.assertFalse(ap.parse_args(o).sobel)
        self.assertTrue(ap.parse_args(o + ["--sobel", "--seed", "2"]).sobel)
        self.assertFalse(ap.parse_args(o + ["--sobel", "0", "--seed", "2"]).sobel)
        self.assertTrue(ap.parse_args(o + ["--sobel", "1"]).sobel)

    def test_lr_schedule(self):
        self.assertEqual(q.lr_at("constant", 0.05, 0.7), 0.05)
        self.assertAlmostEqual(q.lr_at("cosine", 0.05, 0), 0.05)
        self.assertAlmostEqual(q.lr_at("cosine", 0.05, 0.5), 0.025)
        self.assertAlmostEqual(q.lr_at("cosine", 0.05, 1), 0)


if __name__ == "__main__":
    unittest.main()

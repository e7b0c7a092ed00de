#!/usr/bin/python3
"""quality_peer: the PyTorch peer of `deepercluster train` on Fashion-MNIST
(or MNIST: --data-dir any folder of MNIST-style IDX files, as
scripts/bench-quality.sh passes GoMNIST's for QUALITY_DATASET=mnist).

It trains the same network with the same method and settings as the Go
trainer (trainer/, cluster/) within a wall-clock budget, then writes the
learned features, extracted as ours are (eval mode, no augmentation, the
last fc layer before its ReLU), for the Go evaluator to score like ours:

  DIR/train.npy  the first N images of the train split   (N x hidden, float32)
  DIR/eval.npy   --split val: train-split images 50000..59999,
                 --split test: the 10,000 test images     (10000 x hidden)
  DIR/eval_stage1.npy, eval_stage2.npy, ...  the same images' output of
                 each convolution stage after its max-pool (10000 x
                 side*side*channels, NCHW order), for eval --refine-stages
  DIR/peer.json  {"epochs_done", "steps", "train_minutes", "images_per_s", ...}

What it mirrors of ours (see the file's functions for each):
  network     trainer/model.go, cpu_net.go: Depth stages (3 at 28 px) of
              ConvsPerStage (2) x [conv3x3 pad 1 no bias, BatchNorm (eps 1e-5,
              momentum 0.1), ReLU] then 2x2 max-pool; channels width, 2w, 4w;
              flatten (NCHW order); fc1 + ReLU; fc2 = the feature f (no ReLU).
              Optional fixed Sobel front end (grey = channel mean folded into
              the two 3x3 filters, pad 1). 3 input channels (the grey value
              replicated, as dataset.FashionMNIST.Image does).
  init        InitTrunk: conv He-normal fan-out std sqrt(2/(9*out)), BN 1/0,
              running 0/1, fc weights N(0, 1/fan_in), zero biases. InitHeads:
              N(0, 0.01) weights, zero biases, new at every reclustering.
  heads       h = ReLU(f); V: h -> 4m super-classes; W_s: one (hidden x K)
              sub-head per super-class s = 4c + r (K = the largest number of
              sub-clusters of a super-cluster); loss = CE(V h, s) + CE(W_s h, z),
              each the batch mean.
  input       (byte/255 - 0.5)/0.25, as trainer/data.go toCHW.
  augment     trainer/data.go augment: flip with p 1/2, then a shift by
              dx, dy uniform in [-res/8, res/8] with black (byte 0) fill; then
              the rotation r (counter-clockwise quarter turns) uniform in 0..3.
  sampling    cluster.SampleUniform over the sub-cluster labels: quota
              N/nonEmpty + 1 per label, without replacement when the label has
              that many images, shuffled, cut to N; steps = N // batch.
  SGD         PyTorch's SGD (ours copies it): momentum 0.9, weight decay 1e-5
              on every tensor; the heads' momentum is dropped at every
              reclustering (the trunk's kept).
  lr          constant, or cosine lr*0.5*(1+cos(pi*t)), t = (epoch +
              step/steps)/epochs set before every step (trainer/run.go lrAt).
  recluster   at epoch 0 and at the start of every epoch with epoch -
              last >= T: features of all N images (eval mode, no augmentation),
              PCA fitted on all rows (covariance /(n-1), top pca_dim axes,
              whitening 1/sqrt(eigenvalue) with ours' floor, sign fixed), rows
              L2-normalised (pca_dim 0: L2 only); k-means m over all rows,
              then k-means min(k, size) inside each super-cluster, 20 Lloyd
              iterations each, random-row init.

Differences that remain:
  - k-means is faiss's (Lloyd, random-row init, 20 iterations, empty
    clusters split as faiss does: a donor drawn with probability
    proportional to size - 1, centroid perturbed by 1/1024 -- ours draws the
    same way but also moves the donor's rows at once); the final assignment
    is each row's nearest final centroid, where ours keeps the 20th
    assignment step's. Its random draws are faiss's, not ours.
  - Every random stream (init, epoch order, augmentation, rotations) is
    numpy's/torch's, not Go's PCG: same distributions, other draws.
  - The time cap is checked between steps and before a reclustering; ours
    is cut by SIGINT from scripts/bench-quality.sh, which also stops inside
    a reclustering.

Checked (2026-11-30, the shared 2-core machine at load 12-23, so the
speeds are noisy): 5,000 images, 3 epochs, m=10 k=8 T=1 PCA 32, lr 0.05
cosine, seed 1 -- peer: loss_super 2.87 -> 1.85 -> 1.65, prec_super 0.17 ->
0.44 -> 0.53 (chance 0.025), prec_sub 0.17 -> 0.23 -> 0.21 (chance 0.125),
label NMI of its clusterings 0.41 -> 0.45 -> 0.47, 278-319 images/s; ours
right before, same flags: 2.75 -> 1.77 -> 1.64, 0.20 -> 0.45 -> 0.54, 0.17 ->
0.24 -> 0.23, NMI 0.44 -> 0.47 -> 0.48, 703-758 images/s. Tests:
`/usr/bin/python3 scripts/test_quality_peer.py`.
"""

import argparse
import gzip
import json
import math
import os
import sys
import time

# torch and faiss share one OpenMP runtime; its default active wait
# spins idle threads, which on a shared 2-core machine took the CPU
# from the other library's threads (a 5,000-row reclustering: 5 s
# spinning vs 0.15 s passive). An OMP_WAIT_POLICY already set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Debian's OpenBLAS (openblas-pthread, under torch's fc layers, numpy's
# PCA and faiss's distance products) keeps its own pool of spinning
# threads beside OpenMP's; one thread keeps the process at --threads
# busy threads (our Go fc products are single-threaded too).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402 (after the environment above)

FMNIST_DIR = "/usr/share/datasets/fashion-mnist"
RES = 28


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data

def read_idx_labels(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    return np.frombuffer(data[8:], dtype=np.uint8).astype(np.int64)


def nmi(a, b):
    """cluster.NMI: arithmetic-mean normalisation, scikit-learn's default."""
    _, a = np.unique(a, return_inverse=True)
    _, b = np.unique(b, return_inverse=True)
    if a.max() == 0 and b.max() == 0:
        return 1.0
    n = len(a)
    t = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(t, (a, b), 1)
    pa, pb, pab = t.sum(1) / n, t.sum(0) / n, t / n
    nz = pab > 0
    mi = (pab[nz] * np.log(pab[nz] / np.outer(pa, pb)[nz])).sum()
    if mi <= 0:
        return 0.0
    h = lambda p: -(p[p > 0] * np.log(p[p > 0])).sum()  # noqa: E731
    return float(mi / max((h(pa) + h(pb)) / 2, 2.220446049250313e-16))


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n, h, w = np.frombuffer(data[:16], dtype=">u4")
    if magic != 2051 or h != RES or w != RES:
        raise SystemExit("%s: not a 28x28 IDX image file" % path)
    return np.frombuffer(data[16:], dtype=np.uint8).reshape(int(n), RES, RES)


def load_split(data_dir, split):
    """The train split (60,000) or the test split (10,000) as uint8 N x 28 x 28."""
    prefix = "train" if split == "train" else "t10k"
    return read_idx_images(os.path.join(data_dir, prefix + "-images-idx3-ubyte.gz"))


PIX_SCALE = np.float32(1 / (255 * 0.25))
PIX_SHIFT = np.float32(0.5 / 0.25)


def to_input(torch, imgs):
    """uint8 B x R x R grey -> float32 B x 3 x R x R, ours' normalisation
    (trainer/data.go toCHW) on the grey value replicated to R, G, B."""
    x = imgs.astype(np.float32) * PIX_SCALE - PIX_SHIFT
    t = torch.from_numpy(np.ascontiguousarray(x)).unsqueeze(1)
    return t.expand(-1, 3, -1, -1).contiguous()


class Augmenter:
    """trainer/data.go augment + sample on a batch: flip with probability 1/2,
    shift by (dx, dy) in [-pad, pad] with black fill, then r counter-clockwise
    quarter turns."""

    def __init__(self, images, rng, augmented=True, flip=True):
        self.pad = max(1, RES // 8)
        p = self.pad
        self.padded = np.zeros((len(images), RES + 2 * p, RES + 2 * p), dtype=np.uint8)
        self.padded[:, p:p + RES, p:p + RES] = images
        self.images = images
        self.rng = rng
        self.augmented = augmented
        self.flip = flip
        self.ar = np.arange(RES)

    def batch(self, idx, rot):
        B, p, rng = len(idx), self.pad, self.rng
        if not self.augmented:
            return self.apply(idx, None, None, None, rot)
        dx = rng.integers(-p, p + 1, size=B)
        dy = rng.integers(-p, p + 1, size=B)
        # Drawn even without flips (--no-flip), as trainer/data.go does, so
        # that the other draws stay those of a run with flips.
        flip = (rng.integers(0, 2, size=B) == 1) & self.flip
        return self.apply(idx, dx, dy, flip, rot)

    def apply(self, idx, dx, dy, flip, rot):
        """The batch of images idx shifted by dx, dy, flipped where flip
        (no augmentation when dx is None), then rotated by rot."""
        p = self.pad
        if dx is not None:
            # dst(y, x) = src(y+dy, x') with x' = x+dx, mirrored when
            # flipped; out of the image it lands in the zero padding.
            sx = self.ar[None, :] + dx[:, None]
            sx = np.where(flip[:, None], RES - 1 - sx, sx) + p
            sy = self.ar[None, :] + dy[:, None] + p
            out = self.padded[idx[:, None, None], sy[:, :, None], sx[:, None, :]]
        else:
            out = self.images[idx].copy()
        for r in (1, 2, 3):
            sel = rot == r
            if sel.any():
                out[sel] = np.rot90(out[sel], r, axes=(1, 2))
        return out


def sample_uniform(labels, n_labels, epoch_size, rng):
    """cluster.SampleUniform: an epoch drawn uniformly over the labels."""
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels, minlength=n_labels)
    starts = np.concatenate([[0], np.cumsum(counts)])
    groups = [order[starts[l]:starts[l + 1]] for l in range(n_labels)]
    non_empty = int((counts > 0).sum())
    if non_empty == 0 or epoch_size <= 0:
        return np.zeros(0, dtype=np.int64)
    quota = epoch_size // non_empty + 1
    out = []
    for g in groups:
        if len(g) == 0:
            continue
        if len(g) < quota:
            out.append(g[rng.integers(0, len(g), size=quota)])
        else:
            out.append(rng.choice(g, size=quota, replace=False))
    out = np.concatenate(out)
    rng.shuffle(out)
    return out[:epoch_size]


# ---------------------------------------------------------------- model

def sobel_weights():
    """trainer/model.go SobelWeights: (2, 3, 3, 3), grey folded in."""
    gx = np.array([1, 0, -1, 2, 0, -2, 1, 0, -1], dtype=np.float32).reshape(3, 3)
    gy = np.array([1, 2, 1, 0, 0, 0, -1, -2, -1], dtype=np.float32).reshape(3, 3)
    w = np.zeros((2, 3, 3, 3), dtype=np.float32)
    for c in range(3):
        w[0, c] = gx / 3
        w[1, c] = gy / 3
    return w


def build_modules(torch):
    nn = torch.nn
    F = torch.nn.functional

    class Trunk(nn.Module):
        """trainer/cpu_net.go buildFast: the feature f, fc2 before its ReLU."""

        def __init__(self, width, depth, convs, hidden, sobel):
            super().__init__()
            self.sobel = sobel
            if sobel:
                self.register_buffer("sobel_w", torch.from_numpy(sobel_weights()))
            layers = []
            cin = 2 if sobel else 3
            ch = width
            side = RES
            for _ in range(depth):
                for _ in range(convs):
                    conv = nn.Conv2d(cin, ch, 3, padding=1, bias=False)
                    nn.init.normal_(conv.weight, 0.0, math.sqrt(2.0 / (9 * ch)))
                    bn = nn.BatchNorm2d(ch, eps=1e-5, momentum=0.1)
                    layers += [conv, bn, nn.ReLU(inplace=True)]
                    cin = ch
                layers.append(nn.MaxPool2d(2))
                side //= 2
                ch *= 2
            self.features = nn.Sequential(*layers)
            flat = side * side * cin
            self.fc1 = nn.Linear(flat, hidden)
            self.fc2 = nn.Linear(hidden, hidden)
            nn.init.normal_(self.fc1.weight, 0.0, 1 / math.sqrt(flat))
            nn.init.normal_(self.fc2.weight, 0.0, 1 / math.sqrt(hidden))
            nn.init.zeros_(self.fc1.bias)
            nn.init.zeros_(self.fc2.bias)
            self.hidden = hidden

        def forward(self, x):
            if self.sobel:
                x = F.conv2d(x, self.sobel_w, padding=1)
            x = self.features(x)
            x = torch.flatten(x, 1)
            return self.fc2(F.relu(self.fc1(x)))

    class Heads(nn.Module):
        """trainer/model.go InitHeads + cpu_net.go setHeads: V over S
        super-classes and one (hidden x K) sub-head W_s per super-class."""

        def __init__(self, s, k, hidden):
            super().__init__()
            self.s, self.k = s, k
            self.V = nn.Linear(hidden, s) if s > 1 else None
            if self.V is not None:
                nn.init.normal_(self.V.weight, 0.0, 0.01)
                nn.init.zeros_(self.V.bias)
            if k > 1:
                self.W = nn.Parameter(torch.randn(s, hidden, k) * 0.01)
                self.Wb = nn.Parameter(torch.zeros(s, k))
            else:
                self.W = None

        def forward(self, h, sup):
            ls = self.V(h) if self.V is not None else None
            lz = None
            if self.W is not None:
                lz = torch.bmm(h.unsqueeze(1), self.W[sup]).squeeze(1) + self.Wb[sup]
            return ls, lz

    return Trunk, Heads


# ---------------------------------------------------------------- clustering

def pca_whiten(x, out_dim):
    """cluster.FitPCA + project: centred, covariance /(n-1), top out_dim
    axes scaled by eigenvalue^-0.5 (floored as ours), largest component of
    each axis positive."""
    n, d = x.shape
    mean = x.astype(np.float64).mean(axis=0)
    xc = (x - mean.astype(np.float32)).astype(np.float32)
    cov = (xc.T @ xc).astype(np.float64) / (n - 1)
    cov = (cov + cov.T) / 2
    vals, vecs = np.linalg.eigh(cov)  # ascending
    top = max(vals[-1], 0.0)
    floor = top * 1e-10 + 1e-30
    W = np.zeros((d, out_dim), dtype=np.float64)
    for o in range(out_dim):
        col = d - 1 - o
        v = vecs[:, col]
        sign = math.copysign(1.0, v[np.argmax(np.abs(v))])
        W[:, o] = sign * v / math.sqrt(max(vals[col], floor))
    W32 = W.astype(np.float32)
    bias = (mean.astype(np.float32).astype(np.float64) @ W).astype(np.float32)
    return x @ W32 - bias


def l2_normalize(y):
    nrm = np.sqrt((y.astype(np.float64) ** 2).sum(axis=1, keepdims=True))
    nrm[nrm == 0] = 1
    return np.ascontiguousarray((y / nrm).astype(np.float32))


def faiss_kmeans(faiss, x, k, niter, seed):
    """Lloyd k-means with faiss, on all rows (no subsampling); returns each
    row's cluster."""
    n, d = x.shape
    km = faiss.Kmeans(d, k, niter=niter, seed=int(seed) % (2 ** 31 - 1),
                      max_points_per_centroid=max(1, n), min_points_per_centroid=1,
                      verbose=False)
    km.train(x)
    _, a = km.index.search(x, 1)
    return a[:, 0].astype(np.int64)


def hierarchy(faiss, feats, m, k, pca_dim, niter, seed):
    """cluster.Hierarchy: returns (super, local_sub, sub_global, n_sub,
    sub_count_per_super)."""
    n, d = feats.shape
    if pca_dim > 0 and n >= 2:
        x = l2_normalize(pca_whiten(feats, min(pca_dim, d)))  # cluster.PCA.Apply
    else:
        x = l2_normalize(feats)
    if m == 1:
        sup = np.zeros(n, dtype=np.int64)
    else:
        sup = faiss_kmeans(faiss, x, m, niter, seed)
    local = np.zeros(n, dtype=np.int64)
    glob = np.zeros(n, dtype=np.int64)
    counts = np.zeros(m, dtype=np.int64)
    base = 0
    for s in range(m):
        rows = np.nonzero(sup == s)[0]
        if len(rows) == 0:
            continue
        ks = min(k, len(rows))
        if ks > 1:
            z = faiss_kmeans(faiss, np.ascontiguousarray(x[rows]), ks, niter, seed + s + 1)
        else:
            z = np.zeros(len(rows), dtype=np.int64)
        local[rows] = z
        glob[rows] = base + z
        counts[s] = ks
        base += ks
    return sup, local, glob, base, counts


# ---------------------------------------------------------------- run

def extract(torch, trunk, images, batch=64):
    """trainer.ExtractFeatures: eval mode, no augmentation, f before ReLU.
    Batches of 64: at 256 (ours' chunk) torch ran 3x slower here (its
    activations outgrow the cache); eval mode makes the result the same."""
    trunk.eval()
    out = np.zeros((len(images), trunk.hidden), dtype=np.float32)
    with torch.no_grad():
        for off in range(0, len(images), batch):
            x = to_input(torch, images[off:off + batch])
            out[off:off + len(x)] = trunk(x).numpy()
    trunk.train()
    return out


def extract_stages(torch, trunk, images, batch=64):
    """trainer.ExtractStages: each convolution stage's output after its
    max-pool, eval mode, no augmentation; one (N, side*side*channels)
    array per stage (NCHW order: eval --refine-stages whitens each, so
    the order of the columns does not matter)."""
    trunk.eval()
    out = None
    with torch.no_grad():
        for off in range(0, len(images), batch):
            x = to_input(torch, images[off:off + batch])
            if trunk.sobel:
                x = torch.nn.functional.conv2d(x, trunk.sobel_w, padding=1)
            rows = []
            for layer in trunk.features:
                x = layer(x)
                if isinstance(layer, torch.nn.MaxPool2d):
                    rows.append(torch.flatten(x, 1).numpy())
            if out is None:
                out = [np.zeros((len(images), r.shape[1]), dtype=np.float32) for r in rows]
            for o, r in zip(out, rows):
                o[off:off + len(r)] = r
    trunk.train()
    return out


def lr_at(schedule, lr, t):
    if schedule == "cosine":
        return lr * 0.5 * (1 + math.cos(math.pi * min(max(t, 0.0), 1.0)))
    return lr


def parse_bool(v):
    if v.lower() in ("1", "true", "yes", "on"):
        return True
    if v.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError("want 0 or 1, got %r" % v)


def build_parser():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--m", type=int, default=4, help="super-clusters (ours' default 4; bench 10)")
    ap.add_argument("--k", type=int, default=16, help="sub-clusters per super-cluster (ours' default 16; bench 8)")
    ap.add_argument("--recluster-every", type=int, default=3, help="recluster every T epochs")
    ap.add_argument("--epochs", type=int, default=10, help="planned epochs (the cosine schedule spans them)")
    ap.add_argument("--pca-dim", type=int, default=64, help="PCA dimensions before k-means (0: none)")
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--lr-schedule", choices=["constant", "cosine"], default="constant")
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--weight-decay", type=float, default=1e-5)
    ap.add_argument("--width", type=int, default=16, help="channels of the first conv stage")
    ap.add_argument("--depth", type=int, default=3, help="conv stages (ours at 28 px: 3)")
    ap.add_argument("--convs", type=int, default=2, help="convolutions per stage")
    ap.add_argument("--hidden", type=int, default=128, help="width of the fc layers (feature dimension)")
    ap.add_argument("--sobel", nargs="?", const=True, default=False, type=parse_bool,
                    help="fixed Sobel front end (--sobel, or --sobel 0|1 as scripts/bench-quality.sh passes it)")
    ap.add_argument("--no-augment", action="store_true", help="no random crop and flip (rotation stays)")
    ap.add_argument("--no-flip", nargs="?", const=True, default=False, type=parse_bool,
                    help="no horizontal flip in the augmentation, the shift stays (train --no-flip; "
                         "--no-flip, or --no-flip 0|1 as scripts/bench-quality.sh passes it)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--kmeans-iters", type=int, default=20)
    ap.add_argument("--minutes", type=float, default=30.0, help="training wall-clock budget")
    ap.add_argument("--fit-budget", action="store_true",
                    help="after the first reclustering period, shorten the planned epochs (and so the schedule) "
                         "to those the budget holds at the speed measured")
    ap.add_argument("--max-images", type=int, default=50000, help="train on the first N train-split images")
    ap.add_argument("--split", choices=["val", "test"], default="val",
                    help="eval.npy: val = train-split images 50000..59999, test = the test split")
    ap.add_argument("--data-dir", default=FMNIST_DIR,
                    help="folder of the gzipped IDX files (Fashion-MNIST's by default; MNIST's works the same)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True, help="output directory")
    return ap


def main(argv=None):
    a = build_parser().parse_args(argv)

    import faiss
    import torch
    torch.set_num_threads(a.threads)
    faiss.omp_set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)

    train_all = load_split(a.data_dir, "train")
    N = a.max_images if 0 < a.max_images <= len(train_all) else len(train_all)
    images = train_all[:N]
    labels = read_idx_labels(os.path.join(a.data_dir, "train-labels-idx1-ubyte.gz"))[:N]
    if a.split == "val":
        eval_images = train_all[50000:60000]
        if N > 50000:
            log("quality_peer: warning: %d training images overlap the validation images 50000..59999" % N)
    else:
        eval_images = load_split(a.data_dir, "test")
    if (RES >> a.depth) < 1:
        raise SystemExit("depth %d pools a %d px image to nothing" % (a.depth, RES))
    if a.m < 1 or a.k < 1 or a.m > N:
        raise SystemExit("--m must be in [1, %d] and --k at least 1" % N)
    if a.batch < 2 or N < a.batch:
        raise SystemExit("--batch must be at least 2 and at most the %d training images" % N)
    if a.epochs < 1 or a.recluster_every < 1:
        raise SystemExit("--epochs and --recluster-every must be at least 1")

    Trunk, Heads = build_modules(torch)
    trunk = Trunk(a.width, a.depth, a.convs, a.hidden, a.sobel)
    trunk.train()
    trunk_opt = torch.optim.SGD(trunk.parameters(), lr=a.lr, momentum=a.momentum, weight_decay=a.weight_decay)
    heads, head_opt = None, None
    aug = Augmenter(images, rng, augmented=not a.no_augment, flip=not a.no_flip)
    F = torch.nn.functional

    log("quality_peer: %d training images, %d eval images (%s), m=%d k=%d T=%d pca=%d lr=%g (%s) "
        "width=%d depth=%d hidden=%d sobel=%s batch=%d epochs=%d budget %.2f min, %d threads" % (
            N, len(eval_images), a.split, a.m, a.k, a.recluster_every, a.pca_dim, a.lr, a.lr_schedule,
            a.width, a.depth, a.hidden, a.sobel, a.batch, a.epochs, a.minutes, a.threads))

    start = time.time()
    deadline = start + a.minutes * 60
    epoch, clustered_epoch, version = 0, 0, 0
    total_steps, step_seconds, recluster_seconds = 0, 0.0, 0.0
    sup = local = glob = None
    out_of_time = False
    while epoch < a.epochs and not out_of_time:
        if sup is None or epoch - clustered_epoch >= a.recluster_every:
            if time.time() >= deadline:
                out_of_time = True
                break
            t0 = time.time()
            feats = extract(torch, trunk, images)
            version += 1
            sup, local, glob, n_sub, counts = hierarchy(faiss, feats, a.m, a.k, a.pca_dim, a.kmeans_iters,
                                                        a.seed * 1000003 + version * 7919)
            S, K = 4 * a.m, int(counts.max())
            heads = Heads(S, K, a.hidden)
            head_opt = torch.optim.SGD(heads.parameters(), lr=a.lr, momentum=a.momentum,
                                       weight_decay=a.weight_decay)
            clustered_epoch = epoch
            sizes = np.bincount(sup, minlength=a.m)
            recluster_seconds += time.time() - t0
            log("reclustered version=%d epoch=%d m=%d subclusters=%d label_nmi=%.4f largest_super_share=%.4f "
                "seconds=%.1f" % (version, epoch, a.m, n_sub, nmi(glob, labels), sizes.max() / N, time.time() - t0))
        order = sample_uniform(glob, n_sub, N, rng)
        B = a.batch
        steps = len(order) // B
        sums = np.zeros(4)
        n = 0
        t_epoch = time.time()
        last_print = t_epoch
        for step in range(steps):
            if time.time() >= deadline:
                out_of_time = True
                break
            ts = time.time()
            idx = order[step * B:(step + 1) * B]
            rot = rng.integers(0, 4, size=B)
            x = to_input(torch, aug.batch(idx, rot))
            s_t = torch.from_numpy(4 * sup[idx] + rot)
            z_t = torch.from_numpy(local[idx])
            lr = lr_at(a.lr_schedule, a.lr, (epoch + step / steps) / a.epochs)
            for opt in (trunk_opt, head_opt):
                for g in opt.param_groups:
                    g["lr"] = lr
            f = trunk(x)
            h = F.relu(f)
            ls, lz = heads(h, s_t)
            loss = 0
            stats = [0.0, 0.0, 0.0, 0.0]
            if ls is not None:
                l_s = F.cross_entropy(ls, s_t)
                loss = loss + l_s
                stats[0] = l_s.item()
                stats[2] = (ls.argmax(1) == s_t).float().mean().item()
            if lz is not None:
                l_z = F.cross_entropy(lz, z_t)
                loss = loss + l_z
                stats[1] = l_z.item()
                stats[3] = (lz.argmax(1) == z_t).float().mean().item()
            trunk_opt.zero_grad(set_to_none=True)
            head_opt.zero_grad(set_to_none=True)
            loss.backward()
            trunk_opt.step()
            head_opt.step()
            if not math.isfinite(stats[0]) or not math.isfinite(stats[1]):
                raise SystemExit("loss is NaN (learning rate too high?)")
            sums += stats
            n += 1
            total_steps += 1
            step_seconds += time.time() - ts
            if time.time() - last_print >= 10:
                last_print = time.time()
                log("epoch %d/%d step %d/%d loss %.3f/%.3f prec %.2f/%.2f %.0f img/s lr %.4f" % (
                    epoch + 1, a.epochs, step + 1, steps, stats[0], stats[1], stats[2], stats[3],
                    n * B / (time.time() - t_epoch), lr))
        if n > 0:
            m_ = sums / n
            log("epoch done epoch=%d of=%d steps=%d loss_super=%.4f loss_sub=%.4f prec_super=%.4f "
                "prec_sub=%.4f images_per_sec=%.0f version=%d" % (
                    epoch + 1, a.epochs, n, m_[0], m_[1], m_[2], m_[3], n * B / (time.time() - t_epoch), version))
        if not out_of_time:
            epoch += 1
            # --fit-budget: once the first reclustering period is done, plan
            # only the epochs the budget holds at the speed seen so far, so
            # the schedule anneals within the budget as ours does.
            if a.fit_budget and epoch == a.recluster_every and epoch < a.epochs:
                per_epoch = (time.time() - start) / epoch
                fits = epoch + int((deadline - time.time()) / per_epoch)
                if fits < a.epochs:
                    log("quality_peer: --fit-budget: %.0f s an epoch, %d of the %d planned epochs fit the budget; "
                        "the schedule now spans %d" % (per_epoch, fits, a.epochs, fits))
                    a.epochs = max(fits, epoch + 1)
    train_seconds = time.time() - start
    if out_of_time:
        log("quality_peer: reached the %.2f minute budget at epoch %d (%d epochs done, %d steps)" % (
            a.minutes, epoch + 1, epoch, total_steps))

    t0 = time.time()
    tr = extract(torch, trunk, images)
    ev = extract(torch, trunk, eval_images)
    np.save(os.path.join(a.out, "train.npy"), tr)
    np.save(os.path.join(a.out, "eval.npy"), ev)
    for i, st in enumerate(extract_stages(torch, trunk, eval_images)):
        np.save(os.path.join(a.out, "eval_stage%d.npy" % (i + 1)), st)
    info = {
        "epochs_done": epoch,
        "steps": total_steps,
        "train_minutes": round(train_seconds / 60, 3),
        "images_per_s": round(total_steps * a.batch / step_seconds, 1) if step_seconds > 0 else 0.0,
        "recluster_minutes": round(recluster_seconds / 60, 3),
        "reclusterings": version,
        "budget_reached": out_of_time,
        "images": N,
        "split": a.split,
        "feature_dim": a.hidden,
        "settings": {k: v for k, v in vars(a).items() if k != "out"},
        "torch": torch.__version__,
        "faiss": faiss.__version__,
    }
    with open(os.path.join(a.out, "peer.json"), "w") as f:
        json.dump(info, f)
    log("quality_peer: wrote %s/train.npy %s, eval.npy %s in %.1f s" % (a.out, tr.shape, ev.shape, time.time() - t0))
    print(json.dumps(info))


if __name__ == "__main__":
    main()

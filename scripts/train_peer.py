#!/usr/bin/python3
"""train_peer: the PyTorch peer of bench/train for scripts/bench-train.sh.

Usage: train_peer.py MODE RES STEPS WARMUP, MODE train or extract;
train_peer.py config prints {"torch_config": ...}: torch.__config__.show()'s
lines up to the build settings (compiler, oneDNN/MKL-DNN, MKL, OpenMP, CPU
capability) and the BLAS/LAPACK/oneDNN fields of the build settings.

The same network as ours (trainer.DefaultModelConfig: widths 16/32/64, two
3x3 conv+BN+ReLU per stage, 2x2 max-pool, fc 128, fc 128) with
DeeperCluster heads for m=4 (16 super-classes) and k=16. train: forward,
both cross-entropies, backward and SGD (momentum 0.9, weight decay 1e-5)
at batch 64; extract: the eval-mode features of batches of 256, which
torch runs in sub-batches of 16, 32, 64 or 256 (ours splits its batch into
cache-sized pieces per worker; torch at 256 can be several times slower
than at 64): each size is probed for max(2, STEPS // 5) steps after the
warm-up, and the best is timed for STEPS steps (best_batch and
probe_ips_by_batch in the JSON). Torch
threads: OMP_NUM_THREADS (bench-train.sh's THREADS, default 2; ours:
GOMAXPROCS, the same). It times WARMUP untimed and STEPS timed
steps and prints one JSON line: mode, res, ips (images per second),
cpu_ms_per_img (user+system CPU time) and rss_mb (peak RSS).
"""
import json, os, resource, sys, time
import torch, torch.nn as nn, torch.nn.functional as F
if sys.argv[1:] == ["config"]:
    lines = [l.strip(" -") for l in torch.__config__.show().splitlines()[1:]]
    keep = [l for l in lines if l and not l.startswith("Build settings")]
    for l in lines:
        if l.startswith("Build settings"):
            keep += [kv.strip() for kv in l.split(":", 1)[1].split(",")
                     if kv.strip().split("=")[0] in ("BLAS_INFO", "LAPACK_INFO", "USE_MKLDNN", "USE_MKL", "USE_OPENMP")]
    print(json.dumps({"torch_config": "; ".join(["PyTorch " + torch.__version__] + keep)}))
    sys.exit(0)
mode, res, steps, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
torch.manual_seed(0)
W, H, S, K = 16, 128, 16, 16
def stage(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        side = res // 8
        self.features = nn.Sequential(*stage(3, W), *stage(W, 2*W), *stage(2*W, 4*W))
        self.fc1 = nn.Linear(4*W*side*side, H); self.fc2 = nn.Linear(H, H)
        self.V = nn.Linear(H, S)
        self.Wall = nn.Parameter(torch.randn(S, H, K) * 0.01); self.ball = nn.Parameter(torch.zeros(S, K))
    def feat(self, x):
        return self.fc2(F.relu(self.fc1(self.features(x).flatten(1))))
    def forward(self, x, s):
        h = F.relu(self.feat(x))
        sub = torch.bmm(h.unsqueeze(1), self.Wall[s]).squeeze(1) + self.ball[s]
        return self.V(h), sub
net = Net()
if mode == "train":
    n = 64
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-5)
    x = torch.randn(n, 3, res, res); s = torch.randint(0, S, (n,)); z = torch.randint(0, K, (n,))
    def run():
        opt.zero_grad()
        ls, lz = net(x, s)
        loss = F.cross_entropy(ls, s) + F.cross_entropy(lz, z)
        loss.backward(); opt.step()
    net.train()
else:
    n = 256
    x = torch.randn(n, 3, res, res)
    net.eval()
    torch.set_grad_enabled(False)
    sub_batch = n
    def run():
        for i in range(0, n, sub_batch):
            net.feat(x[i:i + sub_batch])
extra = {}
if mode == "extract":
    probe = {}
    for b in (16, 32, 64, 256):
        sub_batch = b
        for _ in range(warmup): run()
        t0 = time.perf_counter()
        for _ in range(max(2, steps // 5)): run()
        probe[b] = n * max(2, steps // 5) / (time.perf_counter() - t0)
    sub_batch = max(probe, key=probe.get)
    extra = {"best_batch": sub_batch, "probe_ips_by_batch": {str(b): round(v, 1) for b, v in probe.items()}}
for _ in range(warmup): run()
c0, t0 = time.process_time(), time.perf_counter()
for _ in range(steps): run()
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"mode": mode, "res": res, "ips": n * steps / wall, "cpu_ms_per_img": 1e3 * cpu / (n * steps),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **extra}))

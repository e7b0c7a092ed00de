"""PyTorch's side of the GPU benchmark (scripts/gpu-check.sh): the same
network and step as scripts/bench-train.sh's CPU peer (small VGG, widths
16/32/64, two 3x3 conv+BN+ReLU per stage, 2x2 max-pool, fc 128, fc 128,
DeeperCluster heads for 16 super-classes and k=16; SGD momentum 0.9, weight
decay 1e-5), in eager mode on CUDA, with cudnn.benchmark and TF32 allowed
(its fastest eager setting). One JSON object per call on stdout.

usage: python3 torch_gpu.py train|extract RES BATCH STEPS WARMUP
(TORCH_DEVICE=cpu runs it on the CPU, to check the script without a GPU.)
"""
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

mode, res, batch, steps, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
dev = torch.device(os.environ.get("TORCH_DEVICE", "cuda"))
torch.backends.cudnn.benchmark = True
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True
torch.manual_seed(0)
W, H, S, K = 16, 128, 16, 16


def stage(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        side = res // 8
        self.features = nn.Sequential(*stage(3, W), *stage(W, 2 * W), *stage(2 * W, 4 * W))
        self.fc1 = nn.Linear(4 * W * side * side, H)
        self.fc2 = nn.Linear(H, H)
        self.V = nn.Linear(H, S)
        self.Wall = nn.Parameter(torch.randn(S, H, K) * 0.01)
        self.ball = nn.Parameter(torch.zeros(S, K))

    def feat(self, x):
        return self.fc2(F.relu(self.fc1(self.features(x).flatten(1))))

    def forward(self, x, s):
        h = F.relu(self.feat(x))
        sub = torch.bmm(h.unsqueeze(1), self.Wall[s]).squeeze(1) + self.ball[s]
        return self.V(h), sub


net = Net().to(dev)
x = torch.randn(batch, 3, res, res, device=dev)
if mode == "train":
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-5)
    s = torch.randint(0, S, (batch,), device=dev)
    z = torch.randint(0, K, (batch,), device=dev)
    net.train()

    def run():
        opt.zero_grad(set_to_none=True)
        ls, lz = net(x, s)
        loss = F.cross_entropy(ls, s) + F.cross_entropy(lz, z)
        loss.backward()
        opt.step()
else:
    net.eval()
    torch.set_grad_enabled(False)

    def run():
        net.feat(x)

def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


for _ in range(warmup):
    run()
sync()
t0 = time.perf_counter()
for _ in range(steps):
    run()
sync()
wall = time.perf_counter() - t0
print(json.dumps({"mode": mode, "res": res, "batch": batch, "ips": batch * steps / wall,
                  "torch": torch.__version__,
                  "gpu": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu"}))

#!/usr/bin/env bash
# bench-train: images per second of one training step (batch 64, 32x32x3,
# DeeperCluster heads m=4 -> 16 super-classes, k=16) and of feature
# extraction (batch 256), for our gorgonia trainer and for the same network,
# batch and step in PyTorch (2 threads), in the same run. Last line: JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_CORETYPE=SkylakeX
ITERS=${BENCH_ITERS:-10}

echo "== ours (trainer.Net: gorgonia graph with our NHWC ops; direct forward pass for extraction) ==" >&2
out=$(go test ./trainer/ -run '^$' -bench 'TrainStep$|Extract$' -benchtime "${ITERS}x" -count 1 2>&1)
echo "$out" >&2
train_ours=$(echo "$out" | awk '/^BenchmarkTrainStep-/ {for (i=1;i<=NF;i++) if ($(i+1)=="img/s") print $i}')
extract_ours=$(echo "$out" | awk '/^BenchmarkExtract-/ {for (i=1;i<=NF;i++) if ($(i+1)=="img/s") print $i}')

echo "== PyTorch (2 threads) ==" >&2
torch_out=$(ITERS=$ITERS /usr/bin/python3 - <<'PY'
import os, time, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(2)
torch.manual_seed(0)
iters = int(os.environ.get("ITERS", "10"))
W, H, S, K = 16, 128, 16, 16
def stage(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(*stage(3, W), *stage(W, 2*W), *stage(2*W, 4*W))
        self.fc1 = nn.Linear(4*W*4*4, H); self.fc2 = nn.Linear(H, H)
        self.V = nn.Linear(H, S)
        self.Wall = nn.Parameter(torch.randn(S, H, K) * 0.01); self.ball = nn.Parameter(torch.zeros(S, K))
    def feat(self, x):
        return self.fc2(F.relu(self.fc1(self.features(x).flatten(1))))
    def forward(self, x, s):
        h = F.relu(self.feat(x))
        sub = torch.bmm(h.unsqueeze(1), self.Wall[s]).squeeze(1) + self.ball[s]
        return self.V(h), sub
net = Net()
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-5)
x = torch.randn(64, 3, 32, 32); s = torch.randint(0, S, (64,)); z = torch.randint(0, K, (64,))
def step():
    opt.zero_grad()
    ls, lz = net(x, s)
    loss = F.cross_entropy(ls, s) + F.cross_entropy(lz, z)
    loss.backward(); opt.step()
net.train(); step()
t0 = time.time()
for _ in range(iters): step()
train = 64 * iters / (time.time() - t0)
net.eval(); xe = torch.randn(256, 3, 32, 32)
with torch.no_grad():
    net.feat(xe)
    t0 = time.time()
    for _ in range(iters): net.feat(xe)
    extract = 256 * iters / (time.time() - t0)
print(f"{train:.2f} {extract:.2f}")
PY
)
echo "torch train/extract img/s: $torch_out" >&2
train_torch=${torch_out% *}
extract_torch=${torch_out#* }
echo "ours: train ${train_ours} img/s, extract ${extract_ours} img/s" >&2
python3 -c "
import json
to, tt, eo, et = ${train_ours}, ${train_torch}, ${extract_ours}, ${extract_torch}
print(json.dumps({'train_ours_ips': round(to, 2), 'train_torch_ips': round(tt, 2), 'ratio_vs_torch': round(to / tt, 4),
                  'extract_ours_ips': round(eo, 2), 'extract_torch_ips': round(et, 2), 'extract_ratio_vs_torch': round(eo / et, 4)}))
"

#!/usr/bin/python3
"""golden_peer: the PyTorch peer's losses and gradients for fixed weights
and one fixed batch, written once as the fixtures of trainer's
TestGoldenPeer, which requires our CPU backend to reproduce them (relative
error <= 1e-4) in CI without torch.

  go test -count=1 -run TestGoldenPeer ./trainer/ -args -golden-inputs   # DIR/in: our weights and batch
  /usr/bin/python3 scripts/golden_peer.py trainer/testdata/golden        # DIR/out: the peer's answers
  /usr/bin/python3 scripts/golden_peer.py --steps 10 trainer/testdata/golden  # DIR/out-steps

With --steps N (TestGoldenPeerSteps) the peer instead trains N SGD steps
as quality_peer.py does (torch.optim.SGD, lr 0.05, momentum 0.9, weight
decay 1e-5 on every tensor, batch-norm running statistics updated with
momentum 0.1 and the unbiased batch variance): step t takes the same
images with the labels rolled by t (super[(i+t) % B], sub likewise), so
that every step has other targets. DIR/out-steps gets loss.npy (N x 2)
and state/<name>.npy, every tensor after the N steps, running statistics
included, in our layout.

DIR/in holds our initial weights (InitTrunk, InitHeads; one .npy a tensor
of trainer.State, stored 2-D: first dimension by the rest; '/' in a name
as "__"), tensors.txt (names and shapes), and the batch: x.npy (B x
3*28*28, NCHW), super.npy and sub.npy (B x 1 int32). The peer's network and
heads are scripts/quality_peer.py's (build_modules), in training mode
(batch-norm on batch statistics), loss CE(V h, s) + CE(W_s h, z) with
h = ReLU(f). DIR/out gets loss.npy (1 x 2: super, sub) and grad/<name>.npy,
the gradient of every learnt tensor in our layout (fc and V weights
transposed back to (in, out)).
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import quality_peer as q  # noqa: E402


def fname(d, name):
    return os.path.join(d, name.replace("/", "__") + ".npy")


def read_shapes(d):
    shapes = {}
    with open(os.path.join(d, "tensors.txt")) as f:
        for line in f:
            name, _, shape = line.strip().partition(" ")
            shapes[name] = tuple(int(v) for v in shape.strip("[]").split())
    return shapes


def load(d, name, shape):
    return np.load(fname(d, name)).reshape(shape)


def save_ours(d, name, v, tr, shapes):
    """Writes tensor v (numpy) to d in our layout: transposed back when tr,
    stored 2-D (first dimension by the rest) as float32."""
    if tr:
        v = v.T
    rows = shapes[name][0] if len(shapes[name]) > 1 else 1
    np.save(fname(d, name), np.ascontiguousarray(v.reshape(rows, -1).astype(np.float32)))


def main(argv):
    steps = 0
    if len(argv) == 3 and argv[0] == "--steps":
        steps, argv = int(argv[1]), argv[2:]
    if len(argv) != 1 or steps < 0:
        print(__doc__, file=sys.stderr)
        return 2
    import torch
    torch.set_num_threads(1)
    base = argv[0]
    src, out = os.path.join(base, "in"), os.path.join(base, "out")
    shapes = read_shapes(src)
    S, hidden = shapes["head/V"][1], shapes["head/V"][0]
    K = shapes["head/W.bias"][1]
    width = shapes["conv1_1.weight"][0]
    depth = max(int(n[4]) for n in shapes if n.startswith("conv"))
    convs = max(int(n[6]) for n in shapes if n.startswith("conv"))
    Trunk, Heads = q.build_modules(torch)
    trunk = Trunk(width, depth, convs, hidden, False).double()
    heads = Heads(S, K, hidden).double()
    # Our weights into the peer's modules: name by name, transposing the
    # fc and V weights (ours (in, out), torch's (out, in)).
    pairs = []  # (our name, torch parameter, transpose)
    stats = []  # (our name, batch-norm running statistic)
    convs_mods = [m for m in trunk.features if isinstance(m, torch.nn.Conv2d)]
    bns = [m for m in trunk.features if isinstance(m, torch.nn.BatchNorm2d)]
    i = 0
    for s in range(1, depth + 1):
        for c in range(1, convs + 1):
            n = "conv%d_%d" % (s, c)
            pairs += [(n + ".weight", convs_mods[i].weight, False), (n + ".bn.weight", bns[i].weight, False),
                      (n + ".bn.bias", bns[i].bias, False)]
            with torch.no_grad():
                bns[i].running_mean.copy_(torch.from_numpy(load(src, n + ".bn.running_mean", -1).astype(np.float64)))
                bns[i].running_var.copy_(torch.from_numpy(load(src, n + ".bn.running_var", -1).astype(np.float64)))
            stats += [(n + ".bn.running_mean", bns[i].running_mean), (n + ".bn.running_var", bns[i].running_var)]
            i += 1
    pairs += [("fc1.weight", trunk.fc1.weight, True), ("fc1.bias", trunk.fc1.bias, False),
              ("fc2.weight", trunk.fc2.weight, True), ("fc2.bias", trunk.fc2.bias, False),
              ("head/V", heads.V.weight, True), ("head/V.bias", heads.V.bias, False),
              ("head/W", heads.W, False), ("head/W.bias", heads.Wb, False)]
    with torch.no_grad():
        for name, p, tr in pairs:
            w = np.load(fname(src, name)).astype(np.float64)
            if tr:
                w = w.T
            p.copy_(torch.from_numpy(np.ascontiguousarray(w)).reshape(p.shape))
    B = np.load(os.path.join(src, "x.npy")).shape[0]
    x = torch.from_numpy(np.load(os.path.join(src, "x.npy")).astype(np.float64).reshape(B, 3, q.RES, q.RES))
    sup = torch.from_numpy(np.load(os.path.join(src, "super.npy")).reshape(B).astype(np.int64))
    sub = torch.from_numpy(np.load(os.path.join(src, "sub.npy")).reshape(B).astype(np.int64))
    trunk.train()
    F = torch.nn.functional
    if steps > 0:
        return train_steps(torch, trunk, heads, pairs, stats, shapes, x, sup, sub, steps, os.path.join(base, "out-steps"))
    h = F.relu(trunk(x))
    ls, lz = heads(h, sup)
    l_s, l_z = F.cross_entropy(ls, sup), F.cross_entropy(lz, sub)
    (l_s + l_z).backward()
    os.makedirs(os.path.join(out, "grad"), exist_ok=True)
    np.save(os.path.join(out, "loss.npy"), np.array([[l_s.item(), l_z.item()]], dtype=np.float32))
    for name, p, tr in pairs:
        save_ours(os.path.join(out, "grad"), name, p.grad.detach().numpy(), tr, shapes)
    print("golden_peer: loss super %.7f sub %.7f; %d gradients written to %s (torch %s, float64)" % (
        l_s.item(), l_z.item(), len(pairs), out, torch.__version__))
    return 0


def train_steps(torch, trunk, heads, pairs, stats, shapes, x, sup, sub, steps, out):
    """steps SGD steps of quality_peer.py's training step on x, the labels
    rolled by the step's index; writes the losses and every tensor after."""
    F = torch.nn.functional
    trunk_opt = torch.optim.SGD(trunk.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-5)
    head_opt = torch.optim.SGD(heads.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-5)
    losses = []
    for t in range(steps):
        s_t, z_t = torch.roll(sup, -t), torch.roll(sub, -t)
        ls, lz = heads(F.relu(trunk(x)), s_t)
        l_s, l_z = F.cross_entropy(ls, s_t), F.cross_entropy(lz, z_t)
        trunk_opt.zero_grad(set_to_none=True)
        head_opt.zero_grad(set_to_none=True)
        (l_s + l_z).backward()
        trunk_opt.step()
        head_opt.step()
        losses.append([l_s.item(), l_z.item()])
    state = os.path.join(out, "state")
    os.makedirs(state, exist_ok=True)
    np.save(os.path.join(out, "loss.npy"), np.array(losses, dtype=np.float32))
    tensors = [(name, p.detach(), tr) for name, p, tr in pairs] + [(name, v, False) for name, v in stats]
    for name, v, tr in tensors:
        save_ours(state, name, v.numpy(), tr, shapes)
    print("golden_peer: %d steps, losses super %.7f -> %.7f, sub %.7f -> %.7f; %d tensors written to %s (torch %s, float64)" % (
        steps, losses[0][0], losses[-1][0], losses[0][1], losses[-1][1], len(tensors), out, torch.__version__))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

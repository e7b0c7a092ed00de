"""The DeeperCluster Explorer network as a plain PyTorch nn.Module.

`deepercluster export-model --format safetensors` writes a trained network
under this module's parameter names, so that

    model = DeeperClusterNet(**config)
    model.load_state_dict(safetensors.torch.load_file("model.safetensors"))

works (strict), or, with the shape taken from the file's metadata,

    model = load("model.safetensors")

Input: NCHW float32 RGB in [0, 1] (torchvision's ToTensor), resized to the
model's resolution (the explorer centre-crops photos to a square and scales
them down with an area filter); the module normalises it as the trainer
does, (x - 0.5) / 0.25. Output of forward: the features the explorer
clusters, the last fc layer *before* its ReLU. `heads(features)` gives the
classifier heads' logits when the file holds them (--heads).

Depends on torch only; safetensors is used when installed, otherwise
`read_safetensors` parses the (trivial) format itself.
"""
import json
import struct

import torch
import torch.nn.functional as F
from torch import nn

INPUT_MEAN = 0.5
INPUT_STD = 0.25


class ConvBN(nn.Module):
    """3x3 convolution (stride 1, pad 1, no bias), BatchNorm, ReLU."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-5)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class SubHeads(nn.Module):
    """One linear sub-head per super-class: weight (S, hidden, K), bias (S, K)."""

    def __init__(self, s, hidden, k):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(s, hidden, k))
        self.bias = nn.Parameter(torch.zeros(s, k))

    def forward(self, h):
        # logits under every super-class: (N, S, K)
        return torch.einsum("nh,shk->nsk", h, self.weight) + self.bias


class DeeperClusterNet(nn.Module):
    """VGG-style trunk: `depth` stages of `convs_per_stage` ConvBN layers,
    each stage ending in a 2x2 max-pool, channels width, 2*width, ...; then
    fc1 (+ReLU) and fc2 of `hidden` units. An optional fixed Sobel front end
    (grayscale folded into two 3x3 filters) comes first."""

    def __init__(self, resolution, width=16, depth=3, convs_per_stage=2, hidden=128, sobel=False, head_s=0, head_k=0):
        super().__init__()
        self.resolution = resolution
        self.depth, self.convs_per_stage = depth, convs_per_stage
        cin = 3
        if sobel:
            self.sobel = nn.Conv2d(3, 2, 3, padding=1, bias=False)
            self.sobel.weight.requires_grad_(False)
            cin = 2
        else:
            self.sobel = None
        ch, side = width, resolution
        for s in range(depth):
            for c in range(convs_per_stage):
                setattr(self, f"conv{s + 1}_{c + 1}", ConvBN(cin, ch))
                cin = ch
            ch *= 2
            side //= 2
        self.fc1 = nn.Linear(cin * side * side, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.head_super = nn.Linear(hidden, head_s) if head_s > 1 else None
        self.head_sub = SubHeads(head_s, hidden, head_k) if head_k > 1 else None

    def forward(self, x):
        x = (x - INPUT_MEAN) / INPUT_STD
        if self.sobel is not None:
            x = self.sobel(x)
        for s in range(self.depth):
            for c in range(self.convs_per_stage):
                x = getattr(self, f"conv{s + 1}_{c + 1}")(x)
            x = F.max_pool2d(x, 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)

    def heads(self, features):
        """(super-class logits (N, S), sub-class logits (N, S, K)) on
        ReLU(features); None for a head the network does not have."""
        h = F.relu(features)
        sup = self.head_super(h) if self.head_super is not None else None
        sub = self.head_sub(h) if self.head_sub is not None else None
        return sup, sub


_DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "I64": torch.int64, "I32": torch.int32}


def read_safetensors(path):
    """(tensors, metadata) of a safetensors file, with safetensors when it
    is installed, else with this reader (8-byte little-endian header
    length, JSON header, raw little-endian data)."""
    try:
        from safetensors import safe_open
    except ImportError:
        safe_open = None
    if safe_open is not None:
        with safe_open(path, framework="pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        buf = bytearray(data[base + begin:base + end])
        t = torch.frombuffer(buf, dtype=_DTYPES[info["dtype"]]) if buf else torch.empty(0, dtype=_DTYPES[info["dtype"]])
        tensors[name] = t.reshape(info["shape"])
    return tensors, meta


def config_from_metadata(meta):
    """DeeperClusterNet's keyword arguments from an exported file's metadata."""
    ints = ("resolution", "width", "depth", "convs_per_stage", "hidden", "head_s", "head_k")
    cfg = {k: int(meta[k]) for k in ints}
    cfg["sobel"] = meta["sobel"] == "true"
    return cfg


def load(path):
    """The network of an exported safetensors file, in eval mode."""
    tensors, meta = read_safetensors(path)
    model = DeeperClusterNet(**config_from_metadata(meta))
    model.load_state_dict(tensors)
    return model.eval()

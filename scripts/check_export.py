"""make check-export's PyTorch side: load an exported safetensors file into
scripts/deepercluster_model.py (strict load_state_dict) and require its
features of the dumped images to equal ours: relative error <= 1e-4, each
image's error divided by the largest |feature| of its row. Prints one JSON
object. Usage: check_export.py MODEL.safetensors DUMPDIR [NAME]"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deepercluster_model as dm  # noqa: E402


def main():
    path, dump = sys.argv[1], sys.argv[2]
    name = sys.argv[3] if len(sys.argv) > 3 else path
    try:
        import safetensors.torch as st
        tensors = st.load_file(path)
        reader = "safetensors " + __import__("safetensors").__version__
    except ImportError:
        tensors = None
        reader = "own reader in deepercluster_model.py (python3 safetensors not installed; Debian has no package)"
    _, meta = dm.read_safetensors(path)
    if tensors is None:
        tensors, _ = dm.read_safetensors(path)
    model = dm.DeeperClusterNet(**dm.config_from_metadata(meta))
    model.load_state_dict(tensors)  # strict: every name and shape
    model.eval()
    images = np.load(os.path.join(dump, "images.npy"))
    ours = np.load(os.path.join(dump, "features.npy"))
    r = model.resolution
    x = torch.from_numpy(images).reshape(-1, 3, r, r)
    with torch.no_grad():
        got = model(x).numpy()
    scale = np.maximum(np.abs(ours).max(axis=1, keepdims=True), 1e-12)
    rel = float((np.abs(got.astype(np.float64) - ours) / scale).max())
    out = {"name": name, "sobel": meta["sobel"] == "true", "resolution": r, "images": int(x.shape[0]), "feature_dim": int(got.shape[1]), "max_rel_err": rel,
           "tensors": len(tensors), "reader": reader, "torch": torch.__version__, "ok": rel <= 1e-4}
    print(json.dumps(out))
    if not out["ok"]:
        sys.exit(f"check-export: PyTorch features differ from ours: relative error {rel:.3g} > 1e-4")


if __name__ == "__main__":
    main()

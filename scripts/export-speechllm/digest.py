#!/usr/bin/python3
"""sha256 of each checkpoint's weights as the exporter reads them (float32, by sorted name), one
line per folder: the same digest means the same weights, whatever the file layout or reader
(safetensors by weights.py, pytorch_model.bin by torch).

    /usr/bin/python3 scripts/export-speechllm/digest.py CHECKPOINT_DIR..."""
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from weights import load_checkpoint_weights  # noqa: E402


def digest(folder):
    weights = load_checkpoint_weights(folder)
    h = hashlib.sha256()
    for name in sorted(weights):
        h.update(name.encode())
        h.update(weights[name].float().contiguous().numpy().tobytes())
    return h.hexdigest()


if __name__ == "__main__":
    for folder in sys.argv[1:]:
        print(digest(folder))

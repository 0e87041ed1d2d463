#!/usr/bin/env bash
# Training runs on Debian's CPU builds of torch/numpy/onnx (PyPI is not reachable here); install
# them when missing so `npm run train` works on a fresh machine.
set -euo pipefail
# and Debian's pocketsphinx-en-us, the native-English model scripts/train/native_gop.py exports
if /usr/bin/python3 -c 'import torch, numpy, onnx, sklearn' 2>/dev/null && [ -d /usr/share/pocketsphinx/model/en-us/en-us ]; then exit 0; fi
echo "installing python3-torch, python3-numpy, python3-onnx, python3-sklearn, pocketsphinx-en-us from Debian (needs root)"
apt-get update -qq
apt-get install -y -qq python3-torch python3-numpy python3-onnx python3-sklearn pocketsphinx-en-us >/dev/null

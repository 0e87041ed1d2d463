"""Checkpoint files without the transformers/safetensors libraries: a safetensors reader and writer,
Hugging Face checkpoint folders (single, sharded, or pytorch_model.bin) and PEFT LoRA merging."""
import json
import os
import struct

import numpy as np
import torch

# safetensors dtype names -> numpy dtypes (BF16 is read as raw 16-bit words and widened below)
_NP = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "F64": np.float64,
       "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
_ST = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32"}


def _bf16_to_f32(words):
    """bfloat16 is the upper half of a float32: shift the 16-bit words up."""
    return (words.astype(np.uint32) << 16).view(np.float32)


def read_safetensors(path):
    """{name: float32/int torch tensor}: 8-byte little-endian header length, JSON header, raw little-endian data."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = info["dtype"]
        if dtype not in _NP:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {dtype}")
        start, end = info["data_offsets"]
        arr = np.frombuffer(data[start:end], dtype=np.dtype(_NP[dtype]).newbyteorder("<")).reshape(info["shape"])
        if dtype == "BF16":
            arr = _bf16_to_f32(arr)
        elif dtype in ("F16", "F64"):
            arr = arr.astype(np.float32)
        out[name] = torch.from_numpy(np.array(arr))
    return out


def write_safetensors(path, tensors, metadata=None):
    """Write {name: tensor} in the safetensors layout (header padded to 8 bytes, as the format asks)."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().astype("<i2").tobytes()
        else:
            raw = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": _ST[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def _load_torch_bin(path):
    state = torch.load(path, map_location="cpu")
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def checkpoint_shards(folder):
    """(path, loader) of each weight file of a Hugging Face checkpoint folder: the shards of an index,
    or the single model.safetensors / pytorch_model.bin."""
    for index_name, loader in (("model.safetensors.index.json", read_safetensors), ("pytorch_model.bin.index.json", _load_torch_bin)):
        index = os.path.join(folder, index_name)
        if os.path.exists(index):
            with open(index) as f:
                return [(os.path.join(folder, shard), loader) for shard in sorted(set(json.load(f)["weight_map"].values()))]
    for single, loader in (("model.safetensors", read_safetensors), ("pytorch_model.bin", _load_torch_bin)):
        p = os.path.join(folder, single)
        if os.path.exists(p):
            return [(p, loader)]
    raise FileNotFoundError(f"{folder}: no model.safetensors, sharded index or pytorch_model.bin")


def iter_checkpoint_weights(folder):
    """The weights, float32, one shard's {name: tensor} at a time (a 7B checkpoint is not held twice)."""
    for path, loader in checkpoint_shards(folder):
        yield loader(path)


def load_checkpoint_weights(folder):
    """All weights of a Hugging Face checkpoint folder, float32, by parameter name."""
    weights = {}
    for shard in iter_checkpoint_weights(folder):
        weights.update(shard)
    return weights


class LoraAdapter:
    """A PEFT LoRA adapter folder. merge_into(weights) adds scale * B @ A to each base weight it finds
    there (scale = lora_alpha / r, or lora_alpha / sqrt(r) with use_rslora, as PEFT's merge_and_unload
    does); check_all_merged() then says whether every pair found its weight."""

    def __init__(self, adapter_dir):
        self.dir = adapter_dir
        with open(os.path.join(adapter_dir, "adapter_config.json")) as f:
            cfg = json.load(f)
        if cfg.get("peft_type", "LORA") != "LORA":
            raise ValueError(f"{adapter_dir}: peft_type {cfg.get('peft_type')} is not LORA")
        if cfg.get("rank_pattern") or cfg.get("alpha_pattern"):
            raise ValueError(f"{adapter_dir}: per-module rank_pattern/alpha_pattern are not supported")
        if cfg.get("use_dora"):
            raise ValueError(f"{adapter_dir}: DoRA adapters are not supported")
        r, alpha = cfg["r"], cfg["lora_alpha"]
        self.scale = alpha / (r ** 0.5) if cfg.get("use_rslora") else alpha / r
        p = os.path.join(adapter_dir, "adapter_model.safetensors")
        lora = read_safetensors(p) if os.path.exists(p) else _load_torch_bin(os.path.join(adapter_dir, "adapter_model.bin"))
        # module name (as in the base checkpoint) -> (A, B)
        self.pairs = {}
        for key in sorted(k for k in lora if ".lora_A." in k):
            module = key.split(".lora_A.")[0]
            name = module[len("base_model.model."):] if module.startswith("base_model.model.") else module
            self.pairs[name] = (lora[key].float(), lora[key.replace(".lora_A.", ".lora_B.")].float())
        if not self.pairs:
            raise ValueError(f"{adapter_dir}: adapter_model has no lora_A/lora_B weights")
        self.merged = []

    def merge_into(self, weights):
        for name, (a, b) in self.pairs.items():
            target = name + ".weight"
            if target in weights:
                weights[target] = weights[target] + self.scale * (b @ a)
                self.merged.append(name)

    def check_all_merged(self):
        missing = sorted(set(self.pairs) - set(self.merged))
        if missing:
            raise KeyError(f"{self.dir}: LoRA module(s) without a base weight, e.g. {missing[:5]}")
        return sorted(self.merged)


#!/usr/bin/python3
"""A tiny randomly initialised Qwen2-Audio checkpoint with Hugging Face parameter names (2 audio
layers, 2 text layers, small widths, grouped key/value heads), stored as Hugging Face stores one:
config.json, the weights (safetensors in one file or shards + index, or pytorch_model.bin; bfloat16
by default), a byte-level BPE tokenizer.json with Qwen2-Audio's special tokens, and a PEFT LoRA
adapter folder (adapter/).

    /usr/bin/python3 scripts/export-speechllm/make_tiny.py --out DIR [--shards 2 | --bin] [--dtype bf16|f16|f32] [--seed 0]

It stands in for Qwen2-Audio-7B-Instruct + the paper's adapter, which were never available here."""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qwen2audio import Config, Qwen2Audio  # noqa: E402
from weights import read_safetensors, write_safetensors  # noqa: E402

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>"]
MERGES = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("e", "r"), ("o", "n"), ("Ġ", "a"), ("r", "e"), ("Ġ", "s")]
LORA_TARGETS = ["q_proj", "v_proj", "o_proj", "up_proj", "down_proj"]  # the paper's


def byte_alphabet():
    """GPT-2's byte -> printable character table (index = byte)."""
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs = list(bs)
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs))
    return [chr(table[b]) for b in range(256)]


# Qwen2's pre-tokenizer, as its tokenizer.json has it: Split with Qwen's regex, then ByteLevel without GPT-2's
QWEN2_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2_PRE_TOKENIZER = {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": QWEN2_PATTERN}, "behavior": "Isolated", "invert": False},
    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}


def tokenizer_json():
    vocab = {c: i for i, c in enumerate(byte_alphabet())}
    for a, b in MERGES:
        vocab[a + b] = len(vocab)
    added = [{"id": len(vocab) + i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
             for i, t in enumerate(SPECIAL_TOKENS)]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "NFC"}, "pre_tokenizer": QWEN2_PRE_TOKENIZER, "post_processor": None, "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": [f"{a} {b}" for a, b in MERGES]},
    }


def config_json(vocab_size, audio_token_index):
    return {
        "architectures": ["Qwen2AudioForConditionalGeneration"], "model_type": "qwen2_audio",
        "audio_token_index": audio_token_index, "ignore_index": -100, "torch_dtype": "bfloat16", "tie_word_embeddings": False,
        "audio_config": {"model_type": "qwen2_audio_encoder", "d_model": 24, "encoder_layers": 2, "encoder_attention_heads": 2,
                         "encoder_ffn_dim": 48, "num_mel_bins": 128, "max_source_positions": 1500, "activation_function": "gelu"},
        "text_config": {"model_type": "qwen2", "vocab_size": vocab_size, "hidden_size": 32, "intermediate_size": 64,
                        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
                        "rope_theta": 10000.0, "hidden_act": "silu", "max_position_embeddings": 8192, "tie_word_embeddings": False},
    }


def sinusoids(length, channels):
    """Whisper's fixed position table (what a real checkpoint stores in embed_positions)."""
    inc = math.log(10000) / (channels // 2 - 1)
    inv = torch.exp(-inc * torch.arange(channels // 2))
    t = torch.arange(length)[:, None] * inv[None, :]
    return torch.cat([torch.sin(t), torch.cos(t)], dim=1)


def random_weights(model, gen):
    """Spread-out random weights (normal / sqrt(fan-in)), so greedy decoding has clear winners."""
    out = {}
    for name, p in model.state_dict().items():
        if name.endswith("embed_positions.weight"):
            out[name] = sinusoids(*p.shape)
        elif "norm" in name and name.endswith("weight"):
            out[name] = 1 + 0.1 * torch.randn(p.shape, generator=gen)
        elif p.dim() == 1:
            out[name] = 0.1 * torch.randn(p.shape, generator=gen)
        else:
            fan_in = p[0].numel() if p.dim() > 1 else 1
            scale = 1.0 if name.endswith("embed_tokens.weight") else 1 / math.sqrt(fan_in)
            out[name] = scale * torch.randn(p.shape, generator=gen)
    return out


DTYPES = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}


def write_weights(folder, weights, shards, dtype, as_bin):
    """safetensors, one file or `shards` files plus model.safetensors.index.json, or pytorch_model.bin."""
    names = sorted(weights)
    stored = {k: weights[k].to(dtype) for k in names}
    if as_bin:
        torch.save(stored, os.path.join(folder, "pytorch_model.bin"))
        return
    if shards <= 1:
        files = {"model.safetensors": names}
    else:
        per = math.ceil(len(names) / shards)
        files = {f"model-{i + 1:05d}-of-{shards:05d}.safetensors": names[i * per:(i + 1) * per] for i in range(shards)}
        with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": {n: fname for fname, ns in files.items() for n in ns}}, f, indent=1)
    for fname, ns in files.items():
        path = os.path.join(folder, fname)
        write_safetensors(path, {n: stored[n] for n in ns}, {"format": "pt"})
        back = read_safetensors(path)  # the reader must give back exactly what was written
        for n in ns:
            if not torch.equal(back[n], stored[n].float()):
                raise AssertionError(f"safetensors round trip changed {n}")


def write_adapter(folder, model, gen, r=4, alpha=8):
    """A PEFT LoRA adapter on every module whose name ends in a target (PEFT's matching), random A and B."""
    os.makedirs(folder, exist_ok=True)
    tensors = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and name.split(".")[-1] in LORA_TARGETS:
            tensors[f"base_model.model.{name}.lora_A.weight"] = torch.randn(r, module.in_features, generator=gen) / math.sqrt(module.in_features)
            tensors[f"base_model.model.{name}.lora_B.weight"] = 0.5 * torch.randn(module.out_features, r, generator=gen) / math.sqrt(r)
    write_safetensors(os.path.join(folder, "adapter_model.safetensors"), tensors, {"format": "pt"})
    with open(os.path.join(folder, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": alpha, "lora_dropout": 0.05,
                   "target_modules": LORA_TARGETS, "bias": "none", "use_rslora": False, "base_model_name_or_path": "tiny-qwen2-audio"}, f, indent=2)
    return len(tensors) // 2


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--shards", type=int, default=1)
    p.add_argument("--bin", action="store_true", help="pytorch_model.bin instead of safetensors")
    p.add_argument("--dtype", choices=sorted(DTYPES), default="bf16")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    tok = tokenizer_json()
    vocab_size = len(tok["model"]["vocab"]) + len(tok["added_tokens"])
    audio_id = next(a["id"] for a in tok["added_tokens"] if a["content"] == "<|AUDIO|>")
    raw = config_json(vocab_size, audio_id)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(raw, f, indent=2)
    with open(os.path.join(args.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    gen = torch.Generator().manual_seed(args.seed)
    model = Qwen2Audio(Config(raw))
    write_weights(args.out, random_weights(model, gen), args.shards, DTYPES[args.dtype], args.bin)
    pairs = write_adapter(os.path.join(args.out, "adapter"), model, gen)
    print(json.dumps({"out": args.out, "vocab": vocab_size, "audioTokenIndex": audio_id, "loraModules": pairs}))


if __name__ == "__main__":
    main()

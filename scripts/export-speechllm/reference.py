#!/usr/bin/python3
"""Reference outputs of the torch implementation for the export test (tests/inference/generative/
export-speechllm.test.ts): the same checkpoint, audio and prompt the ONNX bundle is run on.

    /usr/bin/python3 scripts/export-speechllm/reference.py --checkpoint DIR [--adapter DIR] \
        --samples FILE.f32 --prompt-ids FILE.json --max-new-tokens N --stop-ids 1,2 --out FILE.json

--samples: raw little-endian float32 16 kHz samples. --prompt-ids: a JSON array of token ids with the
audio placeholder once; it is expanded to one placeholder per encoder frame, as the platform does.
Everything here is computed the straightforward way, not as the graphs do it: the audio as Hugging
Face's processor and model do (padded to 30 s, torch.stft log-mel, the padding masked in attention),
every decoding step over the whole sequence without a cache."""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qwen2audio import load_model  # noqa: E402


def logits_of(model, ids, audio):
    """[S, V] logits of the whole sequence, from scratch."""
    logits, _ = model.decode(model.merge_audio(torch.tensor([ids]), audio), model.empty_past())
    return logits[0]


def rows(t, positions):
    return {str(p): t[p].tolist() for p in positions}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--adapter")
    p.add_argument("--samples", required=True)
    p.add_argument("--prompt-ids", required=True)
    p.add_argument("--max-new-tokens", type=int, required=True)
    p.add_argument("--stop-ids", default="")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)

    samples = torch.from_numpy(np.fromfile(args.samples, dtype="<f4").copy())[None]
    with open(args.prompt_ids) as f:
        prompt = json.load(f)
    stop = {int(s) for s in args.stop_ids.split(",") if s}
    model, merged = load_model(args.checkpoint, args.adapter)
    base, _ = load_model(args.checkpoint)
    audio_id = model.cfg.audio_token_index
    if prompt.count(audio_id) != 1:
        raise ValueError(f"--prompt-ids must hold the audio token {audio_id} exactly once")

    with torch.no_grad():
        audio = model.reference_audio(samples)
        at = prompt.index(audio_id)
        ids = prompt[:at] + [audio_id] * audio.shape[1] + prompt[at + 1:]
        first = logits_of(model, ids, audio)
        last = len(ids) - 1
        checked = sorted({0, at, at + audio.shape[1] - 1, last})
        base_first = logits_of(base, ids, base.reference_audio(samples))
        tokens, seq, step1 = [], list(ids), None
        for _ in range(args.max_new_tokens):
            out = logits_of(model, seq, audio)[-1]
            if len(seq) == len(ids) + 1:
                step1 = out.tolist()
            nxt = int(out.argmax())
            if nxt in stop:
                break
            tokens.append(nxt)
            seq.append(nxt)
        if step1 is None:  # the prompt's own argmax stopped generation: compute the step anyway
            step1 = logits_of(model, ids + [int(first[-1].argmax())], audio)[-1].tolist()
    result = {
        "loraMerged": merged,
        "audioEmbeddings": {"dims": list(audio.shape), "data": audio.flatten().tolist()},
        "inputIds": ids,
        "logits": {"positions": checked, "rows": rows(first, checked)},
        "step1Logits": step1,
        "baseLastLogits": base_first[-1].tolist(),
        "tokens": tokens,
    }
    with open(args.out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()

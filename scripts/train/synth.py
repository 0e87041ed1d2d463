"""Synthetic speech for the CTC recognisers (issue 13: "pretraining on synthetic speech"), measured
by speaker CV on train/ before anything ships.

    /usr/bin/python3 scripts/train/synth.py make [--cache data/train-cache] [--per-text 1]
    /usr/bin/python3 scripts/train/synth.py cv [--fold 0] [--steps 1780]

make: every train/ utterance's text read by espeak-ng with a voice, variant, rate and pitch drawn
per recording (seeded), resampled to 16 kHz, a little noise added, written beside the dump as
<cache>/synth.json and synth.pcm (the dump's layout; the labels are the source utterance's, so the
CTC target is its canonical phones; the human scores are not used). espeak-ng's pronunciation of a
word can differ from the dataset's canonical phones; the targets stay the dataset's.

cv: recogniser.py's fold k (same speaker folds, same architecture and augmentation), trained for the
same number of steps twice, on the real training speakers alone and on those with the synthetic
readings of their own texts mixed in (1 : per-text), scored by greedy phone error on fold k's
real speakers (all of them, never trained on). Writes <cache>/synth-cv.json. dev/ is not read.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import wave

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

LANGUAGES = ['en-us', 'en-gb', 'en-gb-x-rp', 'en-gb-scotland', 'en-029', 'en-gb-x-gbclan', 'en-gb-x-gbcwmd']
VARIANTS = ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'f1', 'f2', 'f3', 'f4', 'f5', 'klatt', 'klatt2', 'klatt3',
            'Andy', 'Annie', 'belinda', 'Denis', 'Mr serious', 'Storm', 'grandma', 'grandpa']


def speak(text, rng, tmp):
    """One reading: 16 kHz float32 samples, and the settings drawn for it."""
    voice = f'{rng.choice(LANGUAGES)}+{rng.choice(VARIANTS)}'
    rate, pitch = rng.randint(95, 175), rng.randint(20, 90)
    subprocess.run(['espeak-ng', '-v', voice, '-s', str(rate), '-p', str(pitch), '-w', tmp, text.lower()], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with wave.open(tmp) as w:
        sr = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype='<i2').astype(np.float32) / 32767
    from scipy.signal import resample_poly
    g = np.gcd(sr, 16000)
    y = resample_poly(x, 16000 // g, sr // g).astype(np.float32)
    # learners' recordings start and end with silence (median 3.5 s against espeak-ng's 2.4 s)
    y = np.concatenate([np.zeros(int(rng.uniform(0.1, 0.7) * 16000), np.float32), y, np.zeros(int(rng.uniform(0.1, 0.7) * 16000), np.float32)])
    snr = rng.uniform(20, 45)
    noise = np.random.RandomState(rng.randint(0, 2 ** 31 - 1)).randn(len(y)).astype(np.float32)
    y = y + noise * (np.sqrt(np.mean(y ** 2) + 1e-9) / 10 ** (snr / 20))
    return np.clip(y, -1, 1), {'voice': voice, 'rate': rate, 'pitch': pitch, 'snrDb': round(snr, 1)}


def make(args):
    index = json.load(open(os.path.join(args.cache, 'train.json')))
    rng = random.Random(args.seed)
    out, offset, t0 = [], 0, time.time()
    with open(os.path.join(args.cache, 'synth.pcm'), 'wb') as pcm, tempfile.TemporaryDirectory() as d:
        for n, u in enumerate(index['utterances']):
            for r in range(args.per_text):
                y, settings = speak(u['labels']['text'], rng, os.path.join(d, 'x.wav'))
                pcm.write((y * index['scale']).round().astype('<i2').tobytes())
                out.append({'id': f'synth-{u["id"]}-{r}', 'speaker': u['speaker'], 'source': u['id'], 'age': u.get('age'),
                            'offset': offset, 'length': len(y), 'labels': u['labels'], 'synth': settings})
                offset += len(y)
            if (n + 1) % 500 == 0:
                print(f'{n + 1}/{len(index["utterances"])} texts, {time.time() - t0:.0f} s', flush=True)
    json.dump({**{k: v for k, v in index.items() if k != 'utterances'}, 'utterances': out},
              open(os.path.join(args.cache, 'synth.json'), 'w'))
    print(f'wrote {len(out)} synthetic readings ({offset / 16000 / 3600:.2f} h) to {args.cache}/synth.*')


def fold_items(args):
    """recogniser.py's fold k of train/: its training items, its held-out items, and the synthetic
    readings of its training texts (never of a held-out utterance's)."""
    import recogniser as R
    from model import Frontend
    from train import load_split
    front = Frontend().eval()
    train_all = load_split(args.cache, 'train', front)
    folds = R.speaker_folds(train_all, args.folds, args.seed)
    train = [it for it in train_all if folds[it['speaker']] != args.fold]
    val = [it for it in train_all if folds[it['speaker']] == args.fold]
    heard = {it['id'] for it in train}
    return train, val, [it for it in R.synth_readings(args.cache, front) if it['source'] in heard]


def recogniser_args(args, **more):
    import recogniser as R
    return argparse.Namespace(**{**vars(R.parse_args([])), 'steps': str(args.steps), 'seed': args.seed, 'threads': args.threads, **more})


def cv(args):
    import torch
    import recogniser as R
    from train import greedy_per
    torch.set_num_threads(args.threads)
    k = args.fold
    train, val, extra = fold_items(args)
    rargs = recogniser_args(args)
    result = {'fold': k, 'steps': args.steps, 'trainUtterances': len(train), 'synthUtterances': len(extra), 'heldOutUtterances': len(val)}
    for arm, items in (('real', train), ('real+synth', train + extra)):
        t0 = time.time()
        model, summary = R.train_fold(k, items, val, rargs)
        per = round(greedy_per(model, val), 4)
        result[arm] = {'heldOutPER': per, 'minutes': round((time.time() - t0) / 60, 1), 'history': summary['history']}
        print(f'fold {k} {arm}: held-out greedy PER {per} ({result[arm]["minutes"]} min)', flush=True)
        json.dump(result, open(os.path.join(args.cache, 'synth-cv.json'), 'w'), indent=1)


def pretrain_cv(args):
    """Pretraining, then real speech: fold k trained --synth-steps on its training texts' synthetic
    readings, then --steps on the real training speakers exactly as recogniser.py's recipe (the 'real'
    arm of `cv`, same seed, is the baseline). Scored on all of fold k's held-out real speakers."""
    import torch
    import recogniser as R
    from train import greedy_per
    torch.set_num_threads(args.threads)
    k = args.fold
    train, val, synth = fold_items(args)
    rargs = recogniser_args(args, synth_steps=args.synth_steps)
    t0 = time.time()
    model, summary = R.train_fold(k, train, val, rargs, synth)
    per = round(greedy_per(model, val), 4)
    result = {'fold': k, 'steps': args.steps, 'synthSteps': args.synth_steps, 'trainUtterances': len(train),
              'synthUtterances': len(synth), 'heldOutUtterances': len(val), 'heldOutPER': per,
              'minutes': round((time.time() - t0) / 60, 1), 'synthPretraining': summary['synthPretraining'],
              'history': summary['history']}
    print(f'fold {k} synth {args.synth_steps} steps, then real {args.steps}: held-out greedy PER {per} ({result["minutes"]} min)', flush=True)
    json.dump(result, open(os.path.join(args.cache, f'synth-pretrain-cv-{args.synth_steps}.json'), 'w'), indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('command', choices=['make', 'cv', 'pretrain-cv'])
    ap.add_argument('--cache', default='data/train-cache')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--per-text', type=int, default=1)
    ap.add_argument('--folds', type=int, default=3)
    ap.add_argument('--fold', type=int, default=0)
    ap.add_argument('--steps', type=int, default=1780, help="recogniser.py's fold 0 took 1780 steps in 13 min for the shipped bundle")
    ap.add_argument('--synth-steps', type=int, default=600, help='pretrain-cv: steps on the synthetic readings first')
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()
    {'make': make, 'cv': cv, 'pretrain-cv': pretrain_cv}[args.command](args)


if __name__ == '__main__':
    main()

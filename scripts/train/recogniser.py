"""Stage 1 of the GOP bundle: K cross-fitted CTC phone recognisers, exported as one acoustic graph.

    /usr/bin/python3 scripts/train/recogniser.py [--folds 2] [--minutes 13] [--seed 1]

The train/ speakers are split into K folds (seeded). Recogniser k is trained on every fold but k,
so the GOP features of fold k's utterances (scripts/train/gop-features.ts) come from a model that
never heard them: a recogniser reaches near-zero phone error on its own training speech, and heads
fitted on such features learn nothing that transfers (../shared/ACCURACY-NOTES.md, "the trap").
At serving time every recogniser scores the utterance and the heads' predictions are averaged.

Writes data/train-cache/recogniser-fold{k}.pt, data/train-cache/folds.json (utterance id -> fold)
and <out>/acoustic.onnx (samples [1, N] -> log-posteriors [K, T/2, 40], frame energy [T]).
"""
import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True
torch.backends.mkldnn.enabled = False  # see train.py: oneDNN conv1d backward is broken in this build
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import AcousticExported, Frontend, Recogniser  # noqa: E402
from train import ctc_stage, greedy_per, load_split  # noqa: E402
from folds import speaker_folds  # noqa: E402  (shared with content-match.ts's cross-fitting)


def parse_args(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument('--cache', default='data/train-cache')
    ap.add_argument('--out', default='data/train-cache/gop')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--folds', type=int, default=3)
    ap.add_argument('--minutes', type=float, default=13.0, help='wall-clock budget per fold (cosine schedule ends with it)')
    ap.add_argument('--steps', default='0',
                    help='steps instead of minutes (deterministic): one number for every fold, or one per fold, '
                         'comma-separated (the manifest records each fold\'s steps: training.recognisers[].steps)')
    ap.add_argument('--channels', type=int, default=128)
    ap.add_argument('--layers', type=int, default=5)
    ap.add_argument('--dropout', type=float, default=0.15)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--batch', type=int, default=8)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--only-fold', type=int, default=-1, help='train just this fold (others must be saved already)')
    ap.add_argument('--export-only', action='store_true')
    ap.add_argument('--teacher-weight', type=float, default=0.0,
                    help='beside CTC, the native model as a teacher at this weight (scripts/train/teacher.py; '
                         '<cache>/teacher.train.pt from `teacher.py targets` first); 0: off, as shipped')
    ap.add_argument('--teacher-sharpen', type=float, default=1.0, help="raise the teacher's targets to this power (teacher.attach)")
    ap.add_argument('--synth-steps', type=int, default=0,
                    help='before the real speech, this many steps on espeak-ng readings of the fold\'s own training texts '
                         '(scripts/train/synth.py make first); 0: off, as shipped')
    return ap.parse_args(argv)


def augment(it, rng):
    """Tempo perturbation (linear resampling of the log-mel frames, 0.85-1.15) and time masks;
    collate() adds the frequency masks. Children speak slower and higher: tempo variety helps."""
    f = it['feats'].float()
    rate = rng.uniform(0.85, 1.15)
    t = f.shape[1]
    nt = max(8, int(round(t / rate)))
    f = F.interpolate(f[None], size=nt, mode='linear', align_corners=False)[0]
    for _ in range(2):
        w = rng.randint(0, 8)
        t0 = rng.randint(0, max(0, nt - w))
        f[:, t0: t0 + w] = 0
    return {**it, 'feats': f}


def train_fold(k, train, val, args, synth=()):
    """Recogniser k on `train`; with `synth` (items of synth.py's readings) and --synth-steps, first a
    stage on those readings alone, with its own warm-up and cosine, then the real stage as shipped."""
    rng = random.Random(args.seed * 100 + k)
    torch.manual_seed(args.seed * 100 + k)
    model = Recogniser(args.channels, args.layers, drop=args.dropout)
    pre = None
    if getattr(args, 'synth_steps', 0) > 0 and synth:
        pre = ctc_stage(model, list(model.parameters()), list(synth), val[:240], rng, lr=args.lr, batch=args.batch,
                        minutes=args.minutes, steps=args.synth_steps, warm=150, item=augment, label=f'fold {k} synth',
                        log_every=100)
        pre = {'steps': pre['steps'], 'utterances': len(synth), 'heldOutPER': pre['heldOutPER'], 'minutes': pre['minutes']}
    steps = [int(v) for v in str(args.steps).split(',')]
    item, extra, teacher = augment, None, None
    if args.teacher_weight > 0:  # items carry 'teacher' (teacher.attach)
        import teacher as TT
        item, extra = TT.augment, TT.kl_loss(args.teacher_weight)
        teacher = {'weight': args.teacher_weight, 'scale': getattr(args, 'teacher_scale', None), 'sharpen': args.teacher_sharpen}
    r = ctc_stage(model, list(model.parameters()), train, val[:240], rng, lr=args.lr, batch=args.batch, minutes=args.minutes,
                  steps=steps[k] if len(steps) > 1 else steps[0], warm=150, item=item, label=f'fold {k}', log_every=100,
                  extra_loss=extra)
    model.eval()
    return model, {'fold': k, **{key: r[key] for key in ('steps', 'minutes', 'skippedSteps')}, 'trainUtterances': len(train),
                   'heldOutPER': r['heldOutPER'], 'teacher': teacher, 'synthPretraining': pre, 'history': r['history']}


def synth_readings(cache, front):
    """synth.py's readings as training items, each with the id of the train/ utterance whose text it
    reads ('source'): a fold pretrains only on the texts of its own training speakers."""
    meta = json.load(open(os.path.join(cache, 'synth.json')))['utterances']
    return [{**it, 'source': m['source']} for it, m in zip(load_split(cache, 'synth', front), meta)]


def export(models, args, dev):
    os.makedirs(args.out, exist_ok=True)
    graph = AcousticExported(models).eval()
    x = torch.from_numpy(dev_samples(args.cache, dev[0]['id']))[None]
    path = os.path.join(args.out, 'acoustic.onnx')
    torch.onnx.export(graph, (x,), path, input_names=['samples'], output_names=['log_posteriors', 'frame_energy'],
                      dynamic_axes={'samples': {1: 'N'}, 'log_posteriors': {1: 'T2'}, 'frame_energy': {0: 'T'}}, opset_version=14)
    import onnx
    onnx.checker.check_model(onnx.load(path))
    with torch.no_grad():
        logp, energy = graph(x)
    print(f'exported {path} ({os.path.getsize(path) / 1e6:.1f} MB); log_posteriors {tuple(logp.shape)}, energy {tuple(energy.shape)}')


def dev_samples(cache, uid):
    index = json.load(open(os.path.join(cache, 'dev.json')))
    u = next(u for u in index['utterances'] if u['id'] == uid)
    pcm = np.memmap(os.path.join(cache, 'dev.pcm'), dtype='<i2', mode='r')
    return pcm[u['offset']: u['offset'] + u['length']].astype(np.float32) / index['scale']


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    front = Frontend().eval()
    train_all = load_split(args.cache, 'train', front)
    if args.teacher_weight > 0:
        import teacher as TT
        args.teacher_scale = TT.attach(train_all, args.cache, args.teacher_sharpen)
    dev = load_split(args.cache, 'dev', front)
    synth = synth_readings(args.cache, front) if args.synth_steps > 0 else []
    folds = speaker_folds(train_all, args.folds, args.seed)
    json.dump({'folds': args.folds, 'seed': args.seed, 'utterances': {it['id']: folds[it['speaker']] for it in train_all}},
              open(os.path.join(args.cache, 'folds.json'), 'w'))
    models, summaries = [], []
    for k in range(args.folds):
        path = os.path.join(args.cache, f'recogniser-fold{k}.pt')
        if args.export_only or (args.only_fold >= 0 and args.only_fold != k):
            m = Recogniser(args.channels, args.layers, drop=args.dropout)
            m.load_state_dict(torch.load(path))
            models.append(m.eval())
            summaries.append(json.load(open(path + '.json')))
            continue
        train = [it for it in train_all if folds[it['speaker']] != k]
        val = [it for it in train_all if folds[it['speaker']] == k]
        print(f'fold {k}: training on {len(train)} utterances, {len(val)} held out', flush=True)
        heard = {it['id'] for it in train}
        m, s = train_fold(k, train, val, args, [it for it in synth if it['source'] in heard])
        s['devPER'] = round(greedy_per(m, dev), 3)
        print(f'fold {k}: dev greedy PER {s["devPER"]}', flush=True)
        torch.save(m.state_dict(), path)
        json.dump(s, open(path + '.json', 'w'), indent=1)
        models.append(m)
        summaries.append(s)
    export(models, args, dev)
    json.dump({'args': vars(args), 'parameters': sum(p.numel() for p in models[0].parameters()), 'folds': summaries,
               'minutes': round((time.time() - t0) / 60, 1)}, open(os.path.join(args.out, 'recognisers.json'), 'w'), indent=1)


if __name__ == '__main__':
    main()

"""The native-English model as a teacher for the CTC recognisers (issue 13), measured by speaker CV
on train/ before anything ships.

    /usr/bin/python3 scripts/train/teacher.py targets [--cache data/train-cache] [--scale 0.1]
    /usr/bin/python3 scripts/train/teacher.py cv [--fold 0] [--steps 1780] [--weight 0.3] [--scale 1]

targets: for every train/ utterance, the native model's (native_gop.py: CMU Sphinx en-us, 42 CI
phones x 3 states) per-10 ms-frame distribution over our 39 phones and "not a phone" (silence,
noise), from its CI senone log-likelihoods at an acoustic scale (`--scale`; the GMM's raw
likelihoods are nearly one-hot), states summed per phone, flat prior. Written as float16
<cache>/teacher.train.pt (a list of [T, 40] arrays in the dump's order).

cv: recogniser.py's fold k trained for the same steps as synth.py's baseline arm (the same seed,
so that arm's result in <cache>/synth-cv.json is the baseline), with one more loss: on frames the
teacher hears as a phone, the KL divergence from the teacher's phone distribution to the
recogniser's distribution over the phones given "not blank" (CTC leaves most frames blank, so the
teacher supervises what the blank hides), times `--weight`. The teacher's frames follow the tempo
perturbation of recogniser.py's augmentation (not its time masks: the teacher still says what the
masked frames held). Scored by greedy phone error on fold
k's real speakers. Writes <cache>/teacher-cv.json. dev/ is not read.
"""
import argparse
import json
import os
import random
import sys
import time

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def targets(args):
    import torch
    import native_gop as N
    from model import PHONES
    model = N.Model()
    phone_of = np.arange(N.CI_SEN) // 3
    ours = {p: i for i, p in enumerate(PHONES)}
    column = np.array([ours.get(name, len(PHONES)) for name in model.names])  # anything else: "not a phone"
    out, t0 = [], time.time()
    for n, (u, samples, _) in enumerate(N.load_split(args.cache, 'train')):
        ll = N.senone_loglik(model, samples) * args.scale  # [T, 126]
        per_phone = np.stack([np.logaddexp.reduce(ll[:, phone_of == p], axis=1) for p in range(len(model.names))], 1)
        post = np.exp(per_phone - per_phone.max(1, keepdims=True))
        post /= post.sum(1, keepdims=True)
        ours_post = np.zeros((len(post), len(PHONES) + 1))
        np.add.at(ours_post.T, column, post.T)
        out.append(torch.from_numpy(ours_post.astype(np.float16)))
        if (n + 1) % 250 == 0:
            print(f'{n + 1} utterances, {time.time() - t0:.0f} s', flush=True)
    torch.save({'scale': args.scale, 'targets': out}, os.path.join(args.cache, 'teacher.train.pt'))
    speech = float(np.mean([(1 - t[:, -1].float()).mean().item() for t in out]))
    print(f'wrote {args.cache}/teacher.train.pt: {len(out)} utterances, mean P(phone) {speech:.3f}')


def fit_frames(t, n):
    """The teacher's [T', 40] frames stretched or cut to the front-end's n frames (Sphinx's window is
    410 samples against our 400, so T' is n or one or two less)."""
    import torch
    import torch.nn.functional as F
    if t.shape[0] == n:
        return t
    return F.interpolate(t.T[None], size=n, mode='linear', align_corners=False)[0].T.contiguous()


def cv(args):
    import torch
    import recogniser as R
    import train as TR
    from model import Frontend
    torch.set_num_threads(args.threads)
    front = Frontend().eval()
    items = TR.load_split(args.cache, 'train', front)
    teacher = torch.load(os.path.join(args.cache, 'teacher.train.pt'))
    # another acoustic scale without recomputing: the 39 phones map one to one, so their posteriors
    # at scale s are those at the stored scale to the power s / stored (renormalised); for "not a
    # phone" (three native models summed) this is close, as one of the three dominates
    power = args.scale / teacher['scale']
    for it, t in zip(items, teacher['targets']):
        t = t.float().clamp_min(1e-6) ** power
        it['teacher'] = fit_frames(t / t.sum(1, keepdim=True), it['feats'].shape[1])
    folds = R.speaker_folds(items, args.folds, args.seed)
    k = args.fold
    train = [it for it in items if folds[it['speaker']] != k]
    val = [it for it in items if folds[it['speaker']] == k]

    def augment(it, rng):
        """recogniser.py's augmentation, the teacher's frames stretched with the features."""
        import torch.nn.functional as F
        out = R.augment(it, rng)
        nt = out['feats'].shape[1]
        return {**out, 'teacher': F.interpolate(it['teacher'].T[None], size=nt, mode='linear', align_corners=False)[0].T}

    def teacher_loss(logits, batch_items, b):
        """KL(teacher phones || recogniser's phones given not blank) on the frames the teacher hears a phone."""
        T2 = logits.shape[1]
        tgt = torch.zeros(len(batch_items), T2, logits.shape[2])
        for i, it in enumerate(batch_items):
            t = it['teacher']
            t2 = t[: (len(t) // 2) * 2].reshape(-1, 2, t.shape[1]).mean(1)  # 20 ms frames
            tgt[i, : min(T2, len(t2))] = t2[:T2]
        speech = 1 - tgt[..., -1]  # P(a phone)
        phones = tgt[..., :-1] / speech.clamp_min(1e-6)[..., None]
        logq = torch.log_softmax(logits[..., 1:], dim=-1)
        kl = (phones * (torch.log(phones.clamp_min(1e-8)) - logq)).sum(-1)
        w = (speech > 0.5).float() * b['m20']
        return args.weight * (kl * w).sum() / w.sum().clamp_min(1)

    rargs = argparse.Namespace(**{**vars(R.parse_args([])), 'steps': str(args.steps), 'seed': args.seed, 'threads': args.threads})
    rng = random.Random(rargs.seed * 100 + k)
    torch.manual_seed(rargs.seed * 100 + k)
    from model import Recogniser
    model = Recogniser(rargs.channels, rargs.layers, drop=rargs.dropout)
    t0 = time.time()
    r = TR.ctc_stage(model, list(model.parameters()), train, val[:240], rng, lr=rargs.lr, batch=rargs.batch, minutes=rargs.minutes,
                     steps=args.steps, warm=150, item=augment, label=f'fold {k} teacher', log_every=100, extra_loss=teacher_loss)
    model.eval()
    per = round(TR.greedy_per(model, val), 4)
    result = {'fold': k, 'steps': args.steps, 'weight': args.weight, 'scale': args.scale, 'heldOutPER': per,
              'minutes': round((time.time() - t0) / 60, 1), 'history': r['history']}
    base = os.path.join(args.cache, 'synth-cv.json')
    if os.path.exists(base):
        result['baseline'] = json.load(open(base)).get('real', {}).get('heldOutPER')
    json.dump(result, open(os.path.join(args.cache, 'teacher-cv.json'), 'w'), indent=1)
    print(f'fold {k} with the teacher: held-out greedy PER {per} (baseline {result.get("baseline")})', flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('command', choices=['targets', 'cv'])
    ap.add_argument('--cache', default='data/train-cache')
    ap.add_argument('--scale', type=float, default=0.1,
                    help='acoustic scale on the native log-likelihoods (targets: stored; cv: applied to the stored targets). '
                         'At .1 the targets are almost uniform (mean largest probability .09, entropy 3.56 nats); at 1, .6')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--folds', type=int, default=3)
    ap.add_argument('--fold', type=int, default=0)
    ap.add_argument('--steps', type=int, default=1780)
    ap.add_argument('--weight', type=float, default=0.3)
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()
    targets(args) if args.command == 'targets' else cv(args)


if __name__ == '__main__':
    main()

"""Issue 13 experiment (measured, not shipped): phone_seq.py's transformer trained GOPT-style on
every level at once (phone accuracy; its word's accuracy, stress and total; the utterance's five
aspects), and whether its word and utterance outputs add anything to the served heads.

    OMP_NUM_THREADS=2 /usr/bin/python3 scripts/train/seq_multitask_cv.py [--cache data/train-cache]

Speaker-grouped CV on train/ with the folds of heads.py and phone_seq.py; dev/ is not read. The
served heads' out-of-fold predictions come from <cache>/rationale-oof.json (written by
rationale_calibration.py on the same folds). Prints, per output, the PCC of the heads, of the
transformer and of their blends.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(__file__))
import heads  # noqa: E402
import phone_seq as ps  # noqa: E402

WORD = ['accuracy', 'stress', 'total']
UTT = ['accuracy', 'fluency', 'prosody', 'completeness', 'total']


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument('--cache', default='data/train-cache')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--dim', type=int, default=64)
    ap.add_argument('--layers', type=int, default=2)
    ap.add_argument('--epochs', type=int, default=30)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--word-weight', type=float, default=1.0)
    ap.add_argument('--utterance-weight', type=float, default=1.0)
    return ap.parse_args()


def targets(train):
    """Per phone row: [phone, its word's 3 labels / 5, its utterance's 5 labels / 5]."""
    words, utts = heads.phone_groups(train)
    y = np.zeros((len(train['phone']), 9), np.float32)
    y[:, 0] = train['phone_y'][:, 0]
    for w, rows in enumerate(words):
        y[rows, 1:4] = train['word_y'][w] / 5
    for u, rows in enumerate(utts):
        y[rows, 4:9] = train['utterance_y'][u] / 5
    return y, words, utts


def build(n_features, args):
    import torch
    from torch import nn
    base = ps.build_model(n_features, ps.N_PHONES, args)
    base.out = nn.Sequential(nn.LayerNorm(args.dim), nn.Linear(args.dim, 4))  # phone + word's 3 per position
    base.utt = nn.Sequential(nn.LayerNorm(args.dim), nn.Linear(args.dim, 5))

    def forward(x, pid, mask):
        pos = torch.arange(x.shape[1]).clamp(max=127)
        h = base.inp(x) + base.phone(pid) + base.pos(pos)[None]
        bias = (~mask).float()[:, None, None, :] * -1e4
        for layer in base.layers:
            h = layer(h, bias)
        m = mask.float()[..., None]
        pooled = (h * m).sum(1) / m.sum(1)
        return base.out(h), base.utt(pooled)
    base.forward = forward
    return base


def batches(seqs, x, y, pid, idx, size, rng):
    import torch
    order = rng.permutation(idx) if rng is not None else idx
    for s in range(0, len(order), size):
        group = [seqs[i] for i in order[s:s + size]]
        n = max(len(g) for g in group)
        xb = np.zeros((len(group), n, x.shape[1]), np.float32)
        yb = np.zeros((len(group), n, y.shape[1]), np.float32)
        pb = np.zeros((len(group), n), np.int64)
        mb = np.zeros((len(group), n), bool)
        for j, g in enumerate(group):
            xb[j, :len(g)], yb[j, :len(g)], pb[j, :len(g)], mb[j, :len(g)] = x[g], y[g], pid[g], True
        yield group, torch.from_numpy(xb), torch.from_numpy(yb), torch.from_numpy(pb), torch.from_numpy(mb)


def predict(model, seqs, x, y, pid, idx):
    import torch
    model.eval()
    out = np.zeros((len(x), 9))
    with torch.no_grad():
        for group, xb, _, pb, mb in batches(seqs, x, y, pid, idx, 64, None):
            tok, utt = model(xb, pb, mb)
            for j, g in enumerate(group):
                out[g, :4] = tok[j, :len(g)].numpy()
                out[g, 4:] = utt[j].numpy()
    return out


def train_fold(seqs, x, y, pid, train_idx, speakers_of_seq, args, seed):
    import torch
    torch.manual_seed(seed)
    rng = np.random.RandomState(seed)
    spk = sorted(set(speakers_of_seq[i] for i in train_idx))
    held = set(rng.permutation(spk)[: max(1, len(spk) * 12 // 100)].tolist())
    fit_idx = np.array([i for i in train_idx if speakers_of_seq[i] not in held])
    val_idx = np.array([i for i in train_idx if speakers_of_seq[i] in held])
    val_rows = np.concatenate([seqs[i] for i in val_idx])
    model = build(x.shape[1], args)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    steps = args.epochs * ((len(fit_idx) + 15) // 16)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.1)
    best, state = -1, None
    for epoch in range(args.epochs):
        model.train()
        for _, xb, yb, pb, mb in batches(seqs, x, y, pid, fit_idx, 16, rng):
            tok, utt = model(xb, pb, mb)
            loss = ((tok[..., 0] - yb[..., 0]) ** 2)[mb].mean() \
                + args.word_weight * ((tok[..., 1:4] - yb[..., 1:4]) ** 2)[mb].mean() \
                + args.utterance_weight * ((utt - yb[:, 0, 4:9]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        if epoch % 3 == 2 or epoch == args.epochs - 1:
            p = predict(model, seqs, x, y, pid, val_idx)
            score = np.mean([heads.pcc(p[val_rows, c], y[val_rows, c]) for c in (0, 1, 4)])
            if score > best:
                best, state = score, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    return model


def main():
    args = parse_args()
    import torch
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '2')))
    train = heads.load(os.path.join(args.cache, 'gop'), 'train')
    served = json.load(open(os.path.join(args.cache, 'rationale-oof.json')))
    y, words, utts = targets(train)
    speakers = [train['meta']['utterances'][u]['speaker'] for u in train['meta']['phone']['utterance']]
    folds = heads.speaker_folds(speakers, 5, args.seed)
    seqs = ps.sequences(train)
    pid = ps.phone_ids(train)
    raw = ps.finite(train['phone'])
    seq_fold = np.array([folds[s[0]] for s in seqs])
    seq_speaker = [speakers[s[0]] for s in seqs]
    oof = np.zeros((len(y), 9))
    t0 = time.time()
    for k in range(5):
        tr = folds != k
        x = ps.standardise(raw, raw[tr].mean(0), raw[tr].std(0) + 1e-6)
        model = train_fold(seqs, x, y, pid, np.where(seq_fold != k)[0], seq_speaker, args, args.seed)
        te_idx = np.where(seq_fold == k)[0]
        oof[np.concatenate([seqs[i] for i in te_idx])] = predict(model, seqs, x, y, pid, te_idx)[np.concatenate([seqs[i] for i in te_idx])]
        print(f'fold {k} done ({time.time() - t0:.0f} s)', flush=True)
    print(f'phone: transformer (multi-task) {heads.pcc(oof[:, 0], y[:, 0]):.4f}')
    ids = [u['id'] for u in train['meta']['utterances']]
    word_utt = np.asarray(train['meta']['word']['utterance'])
    word_served = np.concatenate([served[ids[u]]['words'] for u in sorted(set(word_utt.tolist()), key=word_utt.tolist().index)])
    word_seq = np.array([oof[rows, 1].mean() * 5 for rows in words])
    assert len(word_served) == len(word_seq), (len(word_served), len(word_seq))
    truth = train['word_y'][:, 0]
    print(f'word accuracy: served heads {heads.pcc(word_served, truth):.4f} transformer {heads.pcc(word_seq, truth):.4f} '
          + ' '.join(f'blend {a}: {heads.pcc(a * word_served + (1 - a) * word_seq, truth):.4f}' for a in (0.5, 0.7, 0.85)))
    utt_ids = np.asarray(train['meta']['utt']['utterance'])
    for j, aspect in enumerate(UTT):
        s = np.array([served[ids[u]]['sentence'][aspect] for u in utt_ids])
        q = np.array([oof[rows, 4 + j].mean() * 5 for rows in utts])
        t = train['utterance_y'][:, j]
        print(f'utterance {aspect}: served heads {heads.pcc(s, t):.4f} transformer {heads.pcc(q, t):.4f} '
              + ' '.join(f'blend {a}: {heads.pcc(a * s + (1 - a) * q, t):.4f}' for a in (0.5, 0.7, 0.85)), flush=True)


if __name__ == '__main__':
    main()

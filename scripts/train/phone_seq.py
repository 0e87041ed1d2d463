"""The phone head's second half: a small transformer over each utterance's phone rows (GOPT-style),
blended with the boosted trees. Speaker-grouped CV on train/ only; dev/ is not read here.

    OMP_NUM_THREADS=2 /usr/bin/python3 scripts/train/phone_seq.py cv    # about 10 min: out-of-fold predictions, the blend weight
    OMP_NUM_THREADS=2 /usr/bin/python3 scripts/train/phone_seq.py fit   # about 2 min: the served model, <cache>/gop/phone_seq.onnx

The trees see one phone row at a time (plus a few hand-made context columns); a transformer over
the utterance's phones reads how its neighbours and the rest of the utterance scored. `cv` prints
out-of-fold phone PCC for the tree bag (heads.py's recipe, the same speaker folds), the sequence
model and their blends, and writes <cache>/gop/phone_seq.json (the tree weight, chosen on those
folds) and phone_seq_oof.npy, which heads.py stacks into the word and utterance rows. `fit` trains
on all of train/ (early stopping on 12% of its speakers, as in each fold) and exports the model
with its standardisation to ONNX; heads.py puts it into heads.onnx beside the trees.
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

N_PHONES = 39  # phone_id 0-38 (src/inference/phones.ts), embedded as 1-39


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument('command', choices=['cv', 'fit'])
    ap.add_argument('--cache', default='data/train-cache')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--folds', type=int, default=5)
    ap.add_argument('--dim', type=int, default=64)
    ap.add_argument('--layers', type=int, default=2)
    ap.add_argument('--epochs', type=int, default=30)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--dropout', type=float, default=0.1)
    ap.add_argument('--seeds', type=int, default=1, help='sequence models averaged per fold')
    ap.add_argument('--limit-folds', type=int, default=0)
    return ap.parse_args()


def sequences(data):
    """Utterance -> its phone row indices, in order (train/ holds one recogniser copy each)."""
    utt = np.asarray(data['meta']['phone']['utterance'])
    order = {}
    for i, u in enumerate(utt.tolist()):
        order.setdefault(u, []).append(i)
    return [np.asarray(v) for v in order.values()]


def tree_oof(train, folds, args):
    path = os.path.join(args.cache, 'gop', f'phone_tree_oof.seed{args.seed}.npy')
    if os.path.exists(path):
        return np.load(path)
    hargs = argparse.Namespace(learning_rate=0.05, max_iter=600, max_leaf_nodes=15, min_samples_leaf=40, l2=1.0, bag=4)
    oof = np.zeros(len(train['phone']))
    for k in range(args.folds):
        tr, te = folds != k, folds == k
        t = time.time()
        oof[te] = heads.fit_bag(train['phone'][tr], train['phone_y'][tr, 0], hargs, args.seed, 4).predict(train['phone'][te])
        print(f'  trees fold {k}: {time.time() - t:.0f} s', flush=True)
    oof = np.clip(oof, 0, 2)
    np.save(path, oof)
    return oof


def build_model(n_features, n_phones, args):
    """A small pre-norm transformer over the utterance's phones, written out by hand (attention as
    MatMul and Softmax) so it exports to plain ONNX ops."""
    import torch
    from torch import nn

    class Layer(nn.Module):
        def __init__(self, d, heads):
            super().__init__()
            self.h, self.dk = heads, d // heads
            self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.ff = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
            self.drop = nn.Dropout(getattr(args, 'dropout', 0.1))  # records before --dropout existed used .1

        def forward(self, h, bias):
            b, n, d = h.shape
            q, k, v = self.qkv(self.n1(h)).reshape(b, n, 3, self.h, self.dk).permute(2, 0, 3, 1, 4)
            a = torch.softmax(q @ k.transpose(-1, -2) / self.dk ** 0.5 + bias, -1)
            h = h + self.drop(self.proj((a @ v).transpose(1, 2).reshape(b, n, d)))
            return h + self.drop(self.ff(self.n2(h)))

    class PhoneSeq(nn.Module):
        def __init__(self):
            super().__init__()
            d = args.dim
            self.inp = nn.Linear(n_features, d)
            self.phone = nn.Embedding(n_phones + 1, d)
            self.pos = nn.Embedding(128, d)
            self.layers = nn.ModuleList([Layer(d, 4) for _ in range(args.layers)])
            self.out = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 1))

        def forward(self, x, pid, mask):
            pos = torch.arange(x.shape[1]).clamp(max=127)
            h = self.inp(x) + self.phone(pid) + self.pos(pos)[None]
            bias = (~mask).float()[:, None, None, :] * -1e4  # 0 or -1e4 per key (a float tensor, so the export stays float)
            for layer in self.layers:
                h = layer(h, bias)
            return self.out(h).squeeze(-1)

    return PhoneSeq()


def batches(seqs, x, y, pid, idx, size, rng):
    import torch
    order = rng.permutation(idx) if rng is not None else idx
    for s in range(0, len(order), size):
        group = [seqs[i] for i in order[s:s + size]]
        n = max(len(g) for g in group)
        xb = np.zeros((len(group), n, x.shape[1]), np.float32)
        yb = np.zeros((len(group), n), np.float32)
        pb = np.zeros((len(group), n), np.int64)
        mb = np.zeros((len(group), n), bool)
        for j, g in enumerate(group):
            xb[j, :len(g)], yb[j, :len(g)], pb[j, :len(g)], mb[j, :len(g)] = x[g], y[g], pid[g], True
        yield group, torch.from_numpy(xb), torch.from_numpy(yb), torch.from_numpy(pb), torch.from_numpy(mb)


def predict_seqs(model, seqs, x, pid, idx):
    """Row -> prediction for the utterances idx."""
    import torch
    model.eval()
    out = {}
    with torch.no_grad():
        for group, xb, _, pb, mb in batches(seqs, x, np.zeros(len(x), np.float32), pid, idx, 64, None):
            p = model(xb, pb, mb).numpy()
            for j, g in enumerate(group):
                for r, v in zip(g, p[j, :len(g)]):
                    out[r] = v
    return out


def train_model(seqs, x, y, pid, train_idx, speakers_of_seq, args, seed):
    """Train on train_idx utterances with early stopping on 12% of their speakers (PCC checked every
    3 epochs); returns the best state, its held-out PCC and epoch."""
    import torch
    torch.manual_seed(seed)
    rng = np.random.RandomState(seed)
    spk = sorted(set(speakers_of_seq[i] for i in train_idx))
    held = set(rng.permutation(spk)[: max(1, len(spk) * 12 // 100)].tolist())
    fit_idx = np.array([i for i in train_idx if speakers_of_seq[i] not in held])
    val_idx = np.array([i for i in train_idx if speakers_of_seq[i] in held])
    model = build_model(x.shape[1], N_PHONES, args)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    steps = args.epochs * ((len(fit_idx) + 15) // 16)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.1)
    best, best_state, best_epoch = -1, None, 0
    for epoch in range(args.epochs):
        model.train()
        for _, xb, yb, pb, mb in batches(seqs, x, y, pid, fit_idx, 16, rng):
            loss = ((model(xb, pb, mb) - yb) ** 2)[mb].mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        if epoch % 3 == 2 or epoch == args.epochs - 1:
            pv = predict_seqs(model, seqs, x, pid, val_idx)
            rows = np.array(sorted(pv))
            score = heads.pcc(np.array([pv[r] for r in rows]), y[rows])
            if score > best:
                best, best_epoch = score, epoch
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    return model.eval(), best, best_epoch


def fit_predict(seqs, x, y, pid, train_idx, test_idx, speakers_of_seq, args, seed):
    model, best, epoch = train_model(seqs, x, y, pid, train_idx, speakers_of_seq, args, seed)
    return predict_seqs(model, seqs, x, pid, test_idx), best, epoch


def finite(raw):
    x = raw.astype(np.float64)
    x[~np.isfinite(x)] = 0
    return x


def standardise(raw, mu, sd):
    return np.clip((raw - mu) / sd, -6, 6).astype(np.float32)


def phone_ids(data):
    return data['phone'][:, data['meta']['names']['phone'].index('phone_id')].astype(np.int64) + 1


def cv(args):
    train = heads.load(os.path.join(args.cache, 'gop'), 'train')
    y = train['phone_y'][:, 0].astype(np.float32)
    speakers = [train['meta']['utterances'][u]['speaker'] for u in train['meta']['phone']['utterance']]
    folds = heads.speaker_folds(speakers, args.folds, args.seed)
    t0 = time.time()
    trees = tree_oof(train, folds, args)
    print(f'trees (bag of 4) out of fold: {heads.pcc(trees, y):.4f} ({time.time() - t0:.0f} s)', flush=True)
    seqs = sequences(train)
    pid = phone_ids(train)
    raw = finite(train['phone'])
    seq_fold = np.array([folds[s[0]] for s in seqs])
    seq_speaker = [speakers[s[0]] for s in seqs]
    nn_oof = np.full(len(y), np.nan)
    per_fold = []
    for k in range(args.folds if not args.limit_folds else args.limit_folds):
        tr_rows = folds != k
        x = standardise(raw, raw[tr_rows].mean(0), raw[tr_rows].std(0) + 1e-6)
        tr_idx, te_idx = np.where(seq_fold != k)[0], np.where(seq_fold == k)[0]
        preds = []
        for s in range(args.seeds):
            t = time.time()
            p, val, ep = fit_predict(seqs, x, y, pid, tr_idx, te_idx, seq_speaker, args, args.seed + 101 * s)
            preds.append(p)
            print(f'  fold {k} seed {s}: inner val PCC {val:.3f} at epoch {ep}, {time.time() - t:.0f} s', flush=True)
        for r in preds[0]:
            nn_oof[r] = np.mean([p[r] for p in preds])
        te = folds == k
        per_fold.append([round(heads.pcc(trees[te], y[te]), 4), round(heads.pcc(nn_oof[te], y[te]), 4),
                         round(heads.pcc((trees[te] + np.clip(nn_oof[te], 0, 2)) / 2, y[te]), 4)])
        print(f'fold {k}: trees {per_fold[-1][0]} seq {per_fold[-1][1]} mean {per_fold[-1][2]}', flush=True)
    done = ~np.isnan(nn_oof)
    seq = np.clip(nn_oof[done], 0, 2)
    weights = [round(a, 2) for a in np.arange(0.3, 0.81, 0.05)]
    scores = {a: round(heads.pcc(a * trees[done] + (1 - a) * seq, y[done]), 4) for a in weights}
    best = max(weights, key=lambda a: scores[a])
    print(f'out of fold on {done.sum()} phones: trees {heads.pcc(trees[done], y[done]):.4f} seq {heads.pcc(seq, y[done]):.4f}; '
          f'blend by tree weight {scores} -> {best}', flush=True)
    if done.all():
        np.save(os.path.join(args.cache, 'gop', 'phone_seq_oof.npy'), nn_oof)  # unclipped: the server clips the blend
        json.dump({'treeWeight': best, 'cvPccByTreeWeight': scores, 'cvPccTrees': round(heads.pcc(trees, y), 4),
                   'cvPccSequence': round(heads.pcc(seq, y), 4), 'perFold': per_fold, 'args': vars(args),
                   'features': train['meta']['names']['phone'], 'minutes': round((time.time() - t0) / 60, 1)},
                  open(os.path.join(args.cache, 'gop', 'phone_seq.json'), 'w'), indent=1)


def fit(args):
    """The served model: all of train/, exported with its standardisation as
    phone_features [K*P, F], utterance_phone_membership [K, K*P] -> phone_sequence_scores [K*P, 1]."""
    import torch
    gop = os.path.join(args.cache, 'gop')
    record = json.load(open(os.path.join(gop, 'phone_seq.json')))
    train = heads.load(gop, 'train')
    if record['features'] != train['meta']['names']['phone']:
        sys.exit(f'{gop}/phone_seq.json was written for other phone columns: run phone_seq.py cv again')
    y = train['phone_y'][:, 0].astype(np.float32)
    speakers = [train['meta']['utterances'][u]['speaker'] for u in train['meta']['phone']['utterance']]
    seqs = sequences(train)
    raw = finite(train['phone'])
    mu, sd = raw.mean(0), raw.std(0) + 1e-6
    x = standardise(raw, mu, sd)
    t = time.time()
    models = []
    for s in range(args.seeds):
        model, val, ep = train_model(seqs, x, y, phone_ids(train), np.arange(len(seqs)), [speakers[q[0]] for q in seqs], args,
                                     args.seed + 101 * s)
        print(f'seed {s}: inner val PCC {val:.3f} at epoch {ep}, {time.time() - t:.0f} s', flush=True)
        models.append(model)
    served = Served(models, mu, sd, train['meta']['names']['phone'].index('phone_id'))
    path = os.path.join(gop, 'phone_seq.onnx')
    export(served, len(mu), path)
    torch.save(served.state_dict(), os.path.join(gop, 'phone_seq.pt'))
    print(f'wrote {path} ({os.path.getsize(path) / 1e6:.2f} MB)')


def Served(models, mu, sd, phone_id_column):
    """The sequence models as the server runs them: raw feature rows of K recogniser copies of one
    utterance, standardised inside, the mean of the models' predictions."""
    import torch
    from torch import nn

    class ServedSeq(nn.Module):
        def __init__(self):
            super().__init__()
            self.models = nn.ModuleList(models)
            self.register_buffer('mu', torch.tensor(mu, dtype=torch.float32))
            self.register_buffer('sd', torch.tensor(sd, dtype=torch.float32))

        def forward(self, phone_features, utterance_phone_membership):
            k = utterance_phone_membership.shape[0]
            raw = torch.where(torch.isfinite(phone_features), phone_features, torch.zeros_like(phone_features))
            x = torch.clamp((raw - self.mu) / self.sd, -6.0, 6.0).reshape(k, -1, phone_features.shape[1])
            pid = raw[:, phone_id_column].reshape(k, -1).long() + 1
            mask = torch.ones(pid.shape, dtype=torch.bool)
            out = torch.stack([m(x, pid, mask) for m in self.models]).mean(0)
            return out.reshape(-1, 1)

    return ServedSeq().eval()


def export(served, width, path):
    import torch
    x = torch.zeros(2 * 5, width)
    m = torch.ones(2, 2 * 5)
    torch.onnx.export(served, (x, m), path, input_names=['phone_features', 'utterance_phone_membership'],
                      output_names=['phone_sequence_scores'], opset_version=14,
                      dynamic_axes={'phone_features': {0: 'N_phone'}, 'utterance_phone_membership': {0: 'N_utterance', 1: 'N_phone'},
                                    'phone_sequence_scores': {0: 'N_phone'}})


def predict_rows(cache, data):
    """The served model's predictions for every phone row of a split (its K copies per utterance
    each as its own sequence), with torch: heads.py's dev report and fixture."""
    import torch
    gop = os.path.join(cache, 'gop')
    record = json.load(open(os.path.join(gop, 'phone_seq.json')))
    margs = argparse.Namespace(**record['args'])
    state = torch.load(os.path.join(gop, 'phone_seq.pt'))
    n_models = len({k.split('.')[1] for k in state if k.startswith('models.')})
    names = data['meta']['names']['phone']
    models = [build_model(len(names), N_PHONES, margs) for _ in range(n_models)]
    served = Served(models, np.zeros(len(names)), np.ones(len(names)), names.index('phone_id'))
    served.load_state_dict(state)
    utt, k = np.asarray(data['meta']['phone']['utterance']), data['phone_k']
    out = np.zeros(len(utt))
    order = {}
    for i, key in enumerate(zip(utt.tolist(), k.tolist())):
        order.setdefault(key, []).append(i)
    with torch.no_grad():
        for rows in order.values():
            rows = np.asarray(rows)
            f = torch.from_numpy(data['phone'][rows].astype(np.float32))
            out[rows] = served(f, torch.ones(1, len(rows))).numpy()[:, 0]
    return out


def main():
    args = parse_args()
    import torch
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '2')))
    cv(args) if args.command == 'cv' else fit(args)


if __name__ == '__main__':
    main()

"""Speaker-grouped CV on train/ of a second stage over the utterance heads: each sentence aspect
re-predicted by a ridge over all five aspects' out-of-fold predictions (the raters' aspects move
together, so fluency's head may tell the prosody head something its own trees missed).

    /usr/bin/python3 scripts/train/utt_stack_cv.py [--cache data/train-cache]

Needs what heads.py needs (gop-features.ts, phone_seq.py cv and fit, heads.py for the tree weights
it chose). The first stage is the served recipe (bag of 4 boosted models blended with the ridge at
heads.json's tree weight, on the blended out-of-fold phone predictions); its out-of-fold
predictions are computed on the 5 speaker folds, then the second stage is fitted on 4 folds' and
scored on the 5th (nested: the held-out fold's first-stage predictions never trained either
stage). dev/ is not read.
"""
import json
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heads as H  # noqa: E402
from sklearn.linear_model import RidgeCV  # noqa: E402


def first_stage(x, y, folds, args, weights):
    """Out-of-fold predictions of the five utterance heads as heads.py fits them."""
    out = np.zeros_like(y)
    for j in range(y.shape[1]):
        for k in sorted(set(folds.tolist())):
            tr, te = folds != k, folds == k
            p = H.fit_bag(x[tr], y[tr, j], args, args.seed + j, args.bag).predict(x[te])
            if weights[j] < 1:
                p = weights[j] * p + (1 - weights[j]) * H.Linear(x[tr], y[tr, j]).predict(x[te])
            out[te, j] = p
    return np.clip(out, 0, 10)


def second_stage(base, y, folds, j):
    """Nested CV: a ridge from the five first-stage predictions to aspect j."""
    out = np.zeros(len(y))
    coefs = []
    for k in sorted(set(folds.tolist())):
        tr, te = folds != k, folds == k
        r = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(base[tr], y[tr, j])
        out[te] = r.predict(base[te])
        coefs.append(np.round(r.coef_, 3).tolist())
    return np.clip(out, 0, 10), coefs


def main():
    args = H.parse_args()
    gop = os.path.join(args.cache, 'gop')
    train, dev = H.load(gop, 'train'), H.load(gop, 'dev')
    record = json.load(open(os.path.join(gop, 'heads.json')))
    phone = {'trees': H.fit_bag(train['phone'], train['phone_y'][:, 0], args, args.seed, args.bag), 'weight': 1.0, 'linear': None}
    if args.phone_sequence:
        phone['sequence'] = H.phone_sequence(args, train, dev)
    H.stack_phone_predictions(train, dev, phone, args)  # dev is not used below
    x, y = train['utterance'], train['utterance_y']
    aspects = H.LEVELS['utterance'][0]
    weights = [float(record['dev'][f'utterance.{a}']['treeWeight']) for a in aspects]
    groups = [train['meta']['utterances'][u]['speaker'] for u in train['meta']['utt']['utterance']]
    folds = H.speaker_folds(groups, 5, args.seed)
    base = first_stage(x, y, folds, args, weights)
    result = {}
    for j, aspect in enumerate(aspects):
        stacked, coefs = second_stage(base, y, folds, j)
        per_fold = [(round(H.pcc(base[folds == k, j], y[folds == k, j]), 3), round(H.pcc(stacked[folds == k], y[folds == k, j]), 3))
                    for k in range(5)]
        result[aspect] = {'first': round(H.pcc(base[:, j], y[:, j]), 4), 'stacked': round(H.pcc(stacked, y[:, j]), 4),
                          'perFold': per_fold, 'coefs': coefs}
        print(aspect, json.dumps(result[aspect]), flush=True)
    json.dump(result, open(os.path.join(gop, 'utt_stack_cv.json'), 'w'), indent=1)


if __name__ == '__main__':
    main()

"""Speaker-grouped 5-fold CV on train/ of the utterance heads' settings (what heads.py's defaults
rest on): a small grid of boosting hyper-parameters and a bag of 4 models, each alone and blended
with the ridge (tree weight .75 and .5). Reads the features gop-features.ts wrote; about 8 min.

    /usr/bin/python3 scripts/train/heads_cv.py [--cache data/train-cache]

Prints one line per aspect and setting: CV PCC of [trees, .75 trees + .25 ridge, .5 + .5].
"""
import os
import sys
import time

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heads as H  # noqa: E402
from sklearn.ensemble import HistGradientBoostingRegressor  # noqa: E402


def main():
    args = H.parse_args()
    gop = os.path.join(args.cache, 'gop')
    train, dev = H.load(gop, 'train'), H.load(gop, 'dev')
    phone = H.fit(train['phone'], train['phone_y'][:, 0], args, args.seed)
    H.stack_phone_predictions(train, dev, {'trees': phone, 'weight': 1.0, 'linear': None}, args)  # dev is not used below
    x, y = train['utterance'], train['utterance_y']
    groups = [train['meta']['utterances'][u]['speaker'] for u in train['meta']['utt']['utterance']]
    folds = H.speaker_folds(groups, 5, args.seed)

    def cv(params, j, bag=1):
        trees, lin = np.zeros(len(y)), np.zeros(len(y))
        for k in range(5):
            tr, te = folds != k, folds == k
            models = [HistGradientBoostingRegressor(max_iter=1000, early_stopping=True, validation_fraction=0.15, n_iter_no_change=40,
                                                    random_state=1 + j + 17 * b, **params).fit(x[tr], y[tr, j]) for b in range(bag)]
            trees[te] = np.mean([m.predict(x[te]) for m in models], 0)
            lin[te] = H.Linear(x[tr], y[tr, j]).predict(x[te])
        return [round(H.pcc(a * trees + (1 - a) * lin, y[:, j]), 3) for a in (1.0, 0.75, 0.5)]

    base = dict(learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=40, l2_regularization=1.0)
    grid = [base, dict(base, learning_rate=0.03), dict(base, max_leaf_nodes=7), dict(base, min_samples_leaf=80),
            dict(base, min_samples_leaf=20), dict(base, l2_regularization=10.0),
            dict(base, max_leaf_nodes=7, learning_rate=0.03, min_samples_leaf=60)]
    for j, aspect in [(2, 'prosody'), (1, 'fluency'), (0, 'accuracy'), (4, 'total')]:
        for g in grid:
            t = time.time()
            print(aspect, g, cv(g, j), f'{time.time() - t:.0f} s', flush=True)
        print(aspect, 'bag of 4, base settings', cv(base, j, bag=4), flush=True)


if __name__ == '__main__':
    main()

"""Issue 13, accuracy II: do the columns added to src/inference/gop/features.ts (RELATIVE_STRESS_FEATURES:
stress relative to the word's other vowels and to the speaker's range, in the word contract) and the
candidates left out of it (CANDIDATE_UTTERANCE_FEATURES: timing and pitch normalised by the
utterance) help, by speaker-grouped cross-validation on train/ ONLY (dev/ is not read here).

    /usr/bin/python3 scripts/train/stress_cv.py [--gop data/train-cache/gop] [--folds 5] [--seed 1]

For each word and utterance output, the heads' recipe inside each outer speaker fold (heads.py: a
bag of boosted trees, a ridge, stacked out-of-fold phone predictions), once on the contract's
columns as before issue 13 ("base": words without RELATIVE_STRESS_FEATURES) and once with the
new columns ("+new": words with them, utterances with CANDIDATE_UTTERANCE_FEATURES). Prints the pooled out-of-fold PCC
of the trees and of the .75/.25 and .5/.5 blends with the ridge, the per-fold PCC spread
(min-max and sd over the outer folds), word stress also decoded to 5/10 at the threshold heads.py
would choose, a dedicated stress classifier, and the utterance columns' and word stress's PCC within
the dataset's age bands (children under 12, 12-17, adults 18+; and under 18, the eval's slice).
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heads as H  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

# the dataset's children (under 12), teenagers, adults; and the eval's fairness slice (scripts/eval/dataset.ts CHILD_AGE: under 18)
BANDS = (('<12', 0, 12), ('12-17', 12, 18), ('18+', 18, 200), ('<18', 0, 18))


def parse():
    ap = argparse.ArgumentParser()
    ap.add_argument('--gop', default='data/train-cache/gop')
    ap.add_argument('--data', default='../shared/speechocean762', help="for train/spk2age (the cache's ages are null before dump.ts's fix)")
    ap.add_argument('--folds', type=int, default=5)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--bag', type=int, default=4, help='boosted models per output (heads.py: 4)')
    ap.add_argument('--only', default='', help='comma list of outputs, e.g. word.stress,utterance.fluency')
    ap.add_argument('--json', default='', help='write the table here')
    return ap.parse_args()


def load_train(gop):
    """heads.load's train/ arrays, split into the columns before and after issue 13."""
    d = H.load(gop, 'train')
    names = d['meta']['names']
    added = set(names['word_relative_stress'])
    keep = [i for i, n in enumerate(names['word']) if n not in added]
    d['word_base'], d['word_new'] = d['word'][:, keep], d['word']
    cand = np.fromfile(os.path.join(gop, 'train.utterance_candidates.f32'), dtype=np.float32).reshape(-1, len(names['utterance_candidates']))
    d['utterance_base'], d['utterance_new'] = d['utterance'], np.concatenate([d['utterance'], cand], 1)
    return d


def stack_train(d, args, hargs):
    """The STACKED columns from out-of-fold phone predictions (heads.stack_phone_predictions, train
    side only, so dev is never loaded)."""
    speakers = [d['meta']['utterances'][u]['speaker'] for u in d['meta']['phone']['utterance']]
    folds = H.speaker_folds(speakers, args.folds, args.seed)
    oof = np.zeros(len(d['phone']))
    for k in range(args.folds):
        tr, te = folds != k, folds == k
        oof[te] = H.fit(d['phone'][tr], d['phone_y'][tr, 0], hargs, args.seed).predict(d['phone'][te])
    oof = np.clip(oof, 0, 2)
    print(f'phone out-of-fold PCC on train: {H.pcc(oof, d["phone_y"][:, 0]):.3f}', flush=True)
    words, utts = H.phone_groups(d)
    for level, groups in (('word', words), ('utterance', utts)):
        stacked = H.aggregate(oof, groups)
        for variant in ('base', 'new'):
            d[f'{level}_{variant}'] = np.concatenate([d[f'{level}_{variant}'], stacked], 1)


def outer_cv(x, y, folds, args, hargs, seed):
    """Out-of-fold predictions of the bagged trees and of the ridge (each fold fitted on the rest)."""
    trees, lin = np.zeros(len(y)), np.zeros(len(y))
    for k in range(args.folds):
        tr, te = folds != k, folds == k
        trees[te] = H.fit_bag(x[tr], y[tr], hargs, seed, args.bag).predict(x[te])
        lin[te] = H.Linear(x[tr], y[tr]).predict(x[te])
    return trees, lin


def per_fold(pred, y, folds, n):
    """PCC within each outer fold (25 speakers each): the spread, and the list for paired comparisons."""
    return [round(H.pcc(pred[folds == k], y[folds == k]), 3) for k in range(n)]


def stress_classifier(x, y, folds, args, seed):
    """A dedicated stress model: P(stress 10) from a boosted classifier with the rare class
    up-weighted, and a logistic regression on standardised columns; out of fold."""
    target = (y >= 7.5).astype(int)
    boosted, logistic = np.zeros(len(y)), np.zeros(len(y))
    for k in range(args.folds):
        tr, te = folds != k, folds == k
        w = np.where(target[tr] == 0, (target[tr] == 1).sum() / max(1, (target[tr] == 0).sum()), 1.0)
        c = HistGradientBoostingClassifier(learning_rate=0.05, max_iter=400, max_leaf_nodes=7, min_samples_leaf=40, l2_regularization=1.0,
                                           early_stopping=True, validation_fraction=0.15, n_iter_no_change=40, random_state=seed)
        boosted[te] = c.fit(x[tr], target[tr], sample_weight=w).predict_proba(x[te])[:, 1]
        mu, sd = x[tr].mean(0), x[tr].std(0) + 1e-6
        lr = LogisticRegression(C=0.1, class_weight='balanced', max_iter=2000).fit((x[tr] - mu) / sd, target[tr])
        logistic[te] = lr.predict_proba((x[te] - mu) / sd)[:, 1]
    return boosted, logistic


def age_bands(d, level_key, data):
    spk2age = dict(line.split() for line in open(os.path.join(data, 'train', 'spk2age')) if line.strip())
    ages = np.array([int(spk2age[d['meta']['utterances'][u]['speaker']]) for u in d['meta'][level_key]['utterance']])
    return {name: (ages >= lo) & (ages < hi) for name, lo, hi in BANDS}


def main():
    args = parse()
    sys_argv, sys.argv = sys.argv, sys.argv[:1]
    hargs = H.parse_args()  # heads.py's defaults (learning rate, leaves, ...)
    sys.argv = sys_argv
    t0 = time.time()
    d = load_train(args.gop)
    stack_train(d, args, hargs)
    table = {}
    only = set(filter(None, args.only.split(',')))
    for level, key in (('word', 'word'), ('utterance', 'utt')):
        aspects = H.LEVELS[level][0]
        groups = [d['meta']['utterances'][u]['speaker'] for u in d['meta'][key]['utterance']]
        folds = H.speaker_folds(groups, args.folds, args.seed)
        bands = age_bands(d, key, args.data)
        variants = {'base': d[f'{level}_base'], '+new': d[f'{level}_new']}
        for j, aspect in enumerate(aspects):
            name = f'{level}.{aspect}'
            if only and name not in only:
                continue
            y = d[level + '_y'][:, j]
            for variant, x in variants.items():
                t1 = time.time()
                trees, lin = outer_cv(x, y, folds, args, hargs, args.seed + j)
                row = {f'w{a}': round(H.pcc(a * trees + (1 - a) * lin, y), 3) for a in (1.0, 0.75, 0.5)}
                best = max((1.0, 0.75, 0.5), key=lambda a: row[f'w{a}'])
                pred = best * trees + (1 - best) * lin
                row['spread'] = per_fold(pred, y, folds, args.folds)
                if name == 'word.stress':
                    threshold, decoded = H.stress_threshold(pred, y)
                    row['decoded'] = (threshold, decoded)
                    boosted, logistic = stress_classifier(x, y, folds, args, args.seed)
                    row['classifier'] = {'boosted': round(H.pcc(boosted, y), 3), 'logistic': round(H.pcc(logistic, y), 3),
                                         'boosted_spread': per_fold(boosted, y, folds, args.folds)}
                if level == 'utterance' or name == 'word.stress':
                    row['bands'] = {b: round(H.pcc(pred[m], y[m]), 3) for b, m in bands.items()}
                table[f'{name} {variant}'] = row
                print(f'{name:22s} {variant:6s} {json.dumps(row)} ({time.time() - t1:.0f} s)', flush=True)
    if args.json:
        json.dump(table, open(args.json, 'w'), indent=1)
    print(f'done in {(time.time() - t0) / 60:.1f} min')


if __name__ == '__main__':
    main()

"""Does a classifier trained for the raters' phone errors (label < 1.5) rank them better than the
served regression blend, on which the rationale calibration fits its isotonic P(error)? Speaker-
grouped 5-fold CV on train/ only (heads.py's folds); dev/ is not read.

    /usr/bin/python3 scripts/train/phone_error_cv.py [--cache data/train-cache]

Needs gop-features.ts and phone_seq.py cv on the cache (the transformer's out-of-fold predictions).
Prints ROC AUC, average precision and the recall reached at precision .6 / .7 / .8 for each ranking.
"""
import json
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heads as H  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score  # noqa: E402

args = H.parse_args()
gop = os.path.join(args.cache, 'gop')
train = H.load(gop, 'train')
meta = train['meta']
spk = [meta['utterances'][u]['speaker'] for u in meta['phone']['utterance']]
folds = H.speaker_folds(spk, 5, args.seed)
x, y = train['phone'], train['phone_y'][:, 0]
err = (y < 1.5).astype(int)
cache = os.path.join(gop, 'phone_error_cv_trees_oof.npy')
if os.path.exists(cache):
    tree = np.load(cache)
else:
    tree = np.zeros(len(y))
    for k in range(5):
        tr, te = folds != k, folds == k
        tree[te] = H.fit_bag(x[tr], y[tr], args, args.seed, args.bag).predict(x[te])
    np.save(cache, tree)
seq = np.load(os.path.join(gop, 'phone_seq_oof.npy'))
weight = json.load(open(os.path.join(gop, 'phone_seq.json')))['treeWeight']
blend = np.clip(weight * tree + (1 - weight) * seq, 0, 2)
print('blend PCC', H.pcc(blend, y))

def report(name, score):
    # score: higher = more likely error
    auc, ap = roc_auc_score(err, score), average_precision_score(err, score)
    p, r, _ = precision_recall_curve(err, score)
    rec = {t: float(r[p >= t].max()) for t in (0.6, 0.7, 0.8)}
    print(f'{name}: AUC {auc:.4f} AP {ap:.4f} recall at precision .6/.7/.8 {rec[0.6]:.3f}/{rec[0.7]:.3f}/{rec[0.8]:.3f}', flush=True)

report('blend (regression)', -blend)
report('trees only', -tree)
report('seq only', -seq)
# classifier on features + the blend (nested: blend is OOF already)
xc = np.concatenate([x, blend[:, None], seq[:, None], tree[:, None]], 1)
for name, xx in (('classifier on features', x), ('classifier on features + OOF predictions', xc)):
    out = np.zeros(len(y))
    for k in range(5):
        tr, te = folds != k, folds == k
        m = HistGradientBoostingClassifier(learning_rate=0.05, max_iter=600, max_leaf_nodes=15, min_samples_leaf=40, l2_regularization=1.0,
                                           early_stopping=True, validation_fraction=0.15, n_iter_no_change=40, random_state=1).fit(xx[tr], err[tr])
        out[te] = m.predict_proba(xx[te])[:, 1]
    report(name, out)
    np.save(os.path.join(gop, 'phone_error_cv_classifier_oof.npy' if xx is xc else 'phone_error_cv_classifier_features_oof.npy'), out)
    report(name + ' averaged with -blend rank', (np.argsort(np.argsort(out)) + np.argsort(np.argsort(-blend))) / 2)

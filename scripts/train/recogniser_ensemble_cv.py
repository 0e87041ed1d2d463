"""Would two sets of recognisers, served side by side, score phones better than one? Measured on the
phone head's out-of-fold predictions on train/ (phone_seq.py cv's five speaker folds; dev/ not read).

    # the shipped recognisers' features and out-of-fold predictions in <cache>/gop (gop-features.ts
    # --acoustic models/default/acoustic.onnx, phone_seq.py cv), another set's in <cache>/gop-other
    # (recogniser.py with other settings into it, gop-features.ts --acoustic ..., phone_seq.py cv)
    /usr/bin/python3 scripts/train/recogniser_ensemble_cv.py [--cache data/train-cache] --other gop-teacher

Each set's phone prediction is its served blend (tree weight from its phone_seq.json); the ensemble
is their mean. Both sets must hold the same phones in the same order (the same train/ cache).
"""
import argparse
import json
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heads  # noqa: E402


def served_blend(gop):
    """The phone prediction heads.onnx serves, out of fold: trees and transformer at the chosen weight."""
    weight = json.load(open(os.path.join(gop, 'phone_seq.json')))['treeWeight']
    trees = np.load(os.path.join(gop, 'phone_tree_oof.seed1.npy'))
    seq = np.clip(np.load(os.path.join(gop, 'phone_seq_oof.npy')), 0, 2)
    return weight * trees + (1 - weight) * seq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--cache', default='data/train-cache')
    ap.add_argument('--base', default='gop')
    ap.add_argument('--other', required=True)
    ap.add_argument('--folds', type=int, default=5)
    ap.add_argument('--seed', type=int, default=1)
    args = ap.parse_args()
    base_dir, other_dir = (os.path.join(args.cache, d) for d in (args.base, args.other))
    train = heads.load(base_dir, 'train')
    other_meta = json.load(open(os.path.join(other_dir, 'train.meta.json')))
    assert other_meta['phone']['utterance'] == train['meta']['phone']['utterance'], 'the two sets hold different phones'
    y = train['phone_y'][:, 0]
    speakers = [train['meta']['utterances'][u]['speaker'] for u in train['meta']['phone']['utterance']]
    folds = heads.speaker_folds(speakers, args.folds, args.seed)
    base, other = served_blend(base_dir), served_blend(other_dir)
    print(f'phones: {len(y)}; correlation of the two sets\' predictions: {heads.pcc(base, other):.4f}')
    for name, pred in (('base', base), ('other', other), ('mean of both', (base + other) / 2)):
        per_fold = [round(heads.pcc(pred[folds == k], y[folds == k]), 4) for k in range(args.folds)]
        print(f'{name}: out of fold PCC {heads.pcc(pred, y):.4f}; per fold {per_fold}')


if __name__ == '__main__':
    main()

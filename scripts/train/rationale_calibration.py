"""Calibration of the rationale writer (src/rationale/calibration.ts): how often a human rater calls
a token an error, and which sentence band a rater gives, for each predicted score, estimated on
out-of-fold predictions on train/ only (5 speaker folds; dev/ is not read).

    npx tsx scripts/train/dump.ts --splits train
    /usr/bin/python3 scripts/train/folds.py --utt2spk ../shared/speechocean762/train/utt2spk > data/train-cache/folds.json
    npx tsx scripts/train/gop-features.ts --acoustic models/default/acoustic.onnx --splits train
    /usr/bin/python3 scripts/train/rationale_calibration.py [--cache data/train-cache] [--write models/default/rationale-calibration.json]

The acoustic features are cross-fitted already (each train/ utterance scored by the recogniser that
did not hear it); the heads are refitted here per speaker fold by the shipped recipe (heads.py's
bag of boosted models, blended with its ridge at the tree weight heads.py chose, read from
<cache>/gop/heads.json), so the table describes the predictions the server makes. Writes <cache>/rationale-oof.json (per utterance, the out-of-fold
predictions, read by scripts/train/rationale-measure.ts) and the calibration table.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heads as H  # noqa: E402
from sklearn.isotonic import IsotonicRegression  # noqa: E402

WORD_ERROR_BELOW, PHONE_ERROR_BELOW = 8.0, 1.5
ASPECTS = ['accuracy', 'fluency', 'prosody', 'completeness', 'total']


def oof(x, y, folds, args, seed, lo, hi, tree_weight=1.0):
    """Out-of-fold predictions of one head as heads.py fits it: a bag of args.bag boosted models,
    blended with a ridge where heads.py chose a tree weight below 1."""
    out = np.zeros(len(y))
    for k in sorted(set(folds.tolist())):
        tr, te = folds != k, folds == k
        out[te] = H.fit_bag(x[tr], y[tr], args, seed, args.bag).predict(x[te])
        if tree_weight < 1:
            out[te] = tree_weight * out[te] + (1 - tree_weight) * H.Linear(x[tr], y[tr]).predict(x[te])
    return np.clip(out, lo, hi)


def heads_record(cache, train):
    """What heads.py recorded for the shipped heads (<cache>/gop/heads.json): its settings, and the
    blend it chose per output (train/ speaker CV). The heads must have been fitted on this dump."""
    path = os.path.join(cache, 'gop', 'heads.json')
    if not os.path.exists(path):
        sys.exit(f'{path} is missing: run scripts/train/heads.py on this cache first')
    record = json.load(open(path))
    if any(record['features'][level] != train['meta']['names'][level] for level in H.LEVELS):
        sys.exit(f'{path} was written for other feature columns than {cache}/gop holds: run scripts/train/heads.py again')
    settings = argparse.Namespace(**record['args'])
    weights = {key: float(v.get('treeWeight', 1.0)) for key, v in record['dev'].items()}
    return settings, weights, record.get('phoneSequence')


def error_curve(pred, is_error, lo, hi, step):
    """P(rater says error | prediction) on a grid, isotonic (non-increasing in the prediction)."""
    iso = IsotonicRegression(increasing=False, y_min=0.0, y_max=1.0, out_of_bounds='clip').fit(pred, is_error.astype(float))
    grid = np.round(np.arange(lo, hi + step / 2, step), 3)
    return {'at': grid.tolist(), 'pError': np.round(iso.predict(grid), 3).tolist()}


def band_curve(pred, truth, step=0.25):
    """P(rater's band is low / high | prediction), each isotonic; mid is the rest."""
    r = np.floor(truth + 0.5)
    low = IsotonicRegression(increasing=False, y_min=0, y_max=1, out_of_bounds='clip').fit(pred, (r <= 4).astype(float))
    high = IsotonicRegression(increasing=True, y_min=0, y_max=1, out_of_bounds='clip').fit(pred, (r >= 8).astype(float))
    grid = np.round(np.arange(0, 10 + step / 2, step), 3)
    pl, ph = low.predict(grid), high.predict(grid)
    ph = np.minimum(ph, 1 - pl)
    return {'at': grid.tolist(), 'pLow': np.round(pl, 3).tolist(), 'pHigh': np.round(ph, 3).tolist()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--cache', default='data/train-cache')
    ap.add_argument('--write', default='models/default/rationale-calibration.json')
    ap.add_argument('--manifest', default='models/default/manifest.json', help='the bundle the calibration is for (its version is recorded)')
    ap.add_argument('--seed', type=int, default=1)
    mine = ap.parse_args()
    # read first: the bundle the calibration is fitted for (gop_bundle.py writes its manifest before this runs)
    model_version = json.load(open(mine.manifest))['version']
    train = H.load(os.path.join(mine.cache, 'gop'), 'train')
    args, weight, sequence = heads_record(mine.cache, train)
    meta = train['meta']
    spk = lambda level: [meta['utterances'][u]['speaker'] for u in meta[H.META_KEY[level]]['utterance']]  # noqa: E731
    phone_folds = H.speaker_folds(spk('phone'), 5, mine.seed)
    phone = oof(train['phone'], train['phone_y'][:, 0], phone_folds, args, mine.seed, 0, 2)
    if sequence:
        # the phone head blends its trees with phone_seq.py's sequence model, whose out-of-fold
        # predictions come from the same speaker folds (heads.py checks that)
        seq = np.load(os.path.join(mine.cache, 'gop', 'phone_seq_oof.npy'))
        phone = np.clip(sequence['treeWeight'] * phone + (1 - sequence['treeWeight']) * seq, 0, 2)
    print(f'phone OOF PCC {H.pcc(phone, train["phone_y"][:, 0]):.3f}', flush=True)
    words, utts = H.phone_groups(train)
    train['word'] = np.concatenate([train['word'], H.aggregate(phone, words)], 1)
    train['utterance'] = np.concatenate([train['utterance'], H.aggregate(phone, utts)], 1)
    word = oof(train['word'], train['word_y'][:, 0], H.speaker_folds(spk('word'), 5, mine.seed), args, mine.seed, 0, 10,
               weight['word.accuracy'])
    print(f'word accuracy OOF PCC {H.pcc(word, train["word_y"][:, 0]):.3f}', flush=True)
    utt_folds = H.speaker_folds(spk('utterance'), 5, mine.seed)
    sentence = {a: oof(train['utterance'], train['utterance_y'][:, j], utt_folds, args, mine.seed + j, 0, 10, weight[f'utterance.{a}'])
                for j, a in enumerate(ASPECTS)}
    for a in ASPECTS:
        print(f'sentence {a} OOF PCC {H.pcc(sentence[a], train["utterance_y"][:, ASPECTS.index(a)]):.3f}', flush=True)

    # per utterance, for the measurement script
    per = {}
    pu, wu = np.asarray(meta['phone']['utterance']), np.asarray(meta['word']['utterance'])
    for ui, u in enumerate(meta['utterances']):
        per[u['id']] = {'speaker': u['speaker'], 'fold': int(utt_folds[ui]),
                        'sentence': {a: round(float(sentence[a][ui]), 2) for a in ASPECTS},
                        'words': np.round(word[wu == ui], 2).tolist(), 'phones': np.round(phone[pu == ui], 2).tolist()}
    json.dump(per, open(os.path.join(mine.cache, 'rationale-oof.json'), 'w'))

    # the token policy is chosen by scripts/train/rationale-measure.ts --sweep --write; kept across reruns
    old = json.load(open(mine.write)) if os.path.exists(mine.write) else {}
    policy = lambda level: old.get(level, {}).get('policy', {'assertFrom': 0.5, 'hedgeFrom': 0.5})  # noqa: E731
    table = {
        'version': 1,
        'source': 'SpeechOcean762 train/ out-of-fold predictions (5 speaker folds), scripts/train/rationale_calibration.py; '
                  'isotonic fits; dev/ not read',
        'model': model_version,
        'word': dict(error_curve(word, train['word_y'][:, 0] < WORD_ERROR_BELOW, 0, 10, 0.25), policy=policy('word')),
        'phoneme': dict(error_curve(phone, train['phone_y'][:, 0] < PHONE_ERROR_BELOW, 0, 2, 0.1), policy=policy('phoneme')),
        'sentence': {a: band_curve(sentence[a], train['utterance_y'][:, j]) for j, a in enumerate(ASPECTS) if a != 'completeness'},
        'rates': {'wordError': round(float((train['word_y'][:, 0] < WORD_ERROR_BELOW).mean()), 3),
                  'phonemeError': round(float((train['phone_y'][:, 0] < PHONE_ERROR_BELOW).mean()), 3)},
    }
    json.dump(table, open(mine.write, 'w'), indent=1)
    print(f'wrote {mine.write}')


if __name__ == '__main__':
    main()

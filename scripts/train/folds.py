"""The train/ speaker folds of the cross-fitted recognisers (recogniser.py k never heard fold k).

    /usr/bin/python3 scripts/train/folds.py [--utt2spk ../shared/speechocean762/train/utt2spk] [--folds 3] [--seed 1]

prints {"folds": K, "seed": S, "utterances": {utterance id: fold}}: the same map recogniser.py writes
to data/train-cache/folds.json, recomputed from the speaker list (Python's seeded shuffle), so a
later stage (scripts/train/content-match.ts) can cross-fit without the training cache.
"""
import argparse
import json
import random


def speaker_folds(items, k, seed):
    speakers = sorted({it['speaker'] for it in items})
    random.Random(seed).shuffle(speakers)
    return {s: i % k for i, s in enumerate(speakers)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--utt2spk', default='../shared/speechocean762/train/utt2spk')
    ap.add_argument('--folds', type=int, default=3)
    ap.add_argument('--seed', type=int, default=1)
    args = ap.parse_args()
    items = [dict(zip(('id', 'speaker'), line.split())) for line in open(args.utt2spk) if line.strip()]
    folds = speaker_folds(items, args.folds, args.seed)
    print(json.dumps({'folds': args.folds, 'seed': args.seed, 'utterances': {it['id']: folds[it['speaker']] for it in items}}))


if __name__ == '__main__':
    main()

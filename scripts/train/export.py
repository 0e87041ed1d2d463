"""Export a trained Scorer to ONNX and write the bundle manifest (models/so762-scorer-1.1.0/manifest.json by default).

Also checks that the exported graph on raw samples equals the training path on cached features,
and writes reference outputs (<cache>/onnx-ref.json) that scripts/train/verify-onnx.ts compares
with onnxruntime-node.
"""
import hashlib
import json
import os

import numpy as np
import onnx
import torch

from model import PHONES, Exported

OPSET = 14


def _r3(v):
    return None if v is None or v != v else round(float(v), 3)  # NaN is not JSON
ONNX_FILE = 'scorer.onnx'
VERSION = 'so762-scorer-1.1.0'


def _pretrain_text(summary):
    pre = summary.get('pretrain')
    if not pre:
        return 'one stage: '
    return (f"stage 1: encoder + CTC head alone on canonical phones, {pre['steps']} steps ({pre['minutes']} min, "
            f"lr {pre['lr']}, batch {pre['batch']}; held-out greedy PER {pre['heldOutPER']}); stage 2 (joint): ")


def _inputs(item):
    p = len(item['ids'])
    return (
        torch.tensor([item['ids']], dtype=torch.long),
        torch.tensor([item['stress']], dtype=torch.long),
        torch.tensor([item['pos']], dtype=torch.long),
        torch.from_numpy(item['member'])[None],
    )


def _samples(cache, split, uid):
    index = json.load(open(os.path.join(cache, f'{split}.json')))
    u = next(x for x in index['utterances'] if x['id'] == uid)
    pcm = np.memmap(os.path.join(cache, f'{split}.pcm'), dtype='<i2', mode='r')
    return torch.from_numpy(pcm[u['offset']: u['offset'] + u['length']].astype(np.float32) / index['scale'])[None]


def export_bundle(model, args, dev, summary):
    from train import collate, run_model

    model.eval()
    graph = Exported(model).eval()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, ONNX_FILE)
    item = dev[0]
    samples = _samples(args.cache, 'dev', item['id'])
    ids, st, pos, member = _inputs(item)
    torch.onnx.export(
        graph, (samples, ids, st, pos, member), path, opset_version=OPSET,
        input_names=['samples', 'phone_ids', 'phone_stress', 'phone_word_position', 'word_membership'],
        output_names=['utterance_scores', 'word_scores', 'phone_scores'],
        dynamic_axes={'samples': {1: 'N'}, 'phone_ids': {1: 'P'}, 'phone_stress': {1: 'P'},
                      'phone_word_position': {1: 'P'}, 'word_membership': {1: 'W', 2: 'P'},
                      'word_scores': {1: 'W'}, 'phone_scores': {1: 'P'}},
        do_constant_folding=True,
    )
    onnx.checker.check_model(onnx.load(path))
    sha = hashlib.sha256(open(path, 'rb').read()).hexdigest()
    size = os.path.getsize(path)
    print(f'exported {path}: {size / 1e6:.2f} MB sha256 {sha}', flush=True)

    # graph on raw samples == training path on cached features; keep references for onnxruntime-node
    refs = []
    maxdiff = 0.0
    with torch.no_grad():
        for it in dev[:4]:
            s = _samples(args.cache, 'dev', it['id'])
            u, w, p = graph(s, *_inputs(it))
            u2, w2, p2, _ = run_model(model, collate([it]))
            maxdiff = max(maxdiff, float((u - u2).abs().max()), float((w - w2).abs().max()), float((p - p2).abs().max()))
            refs.append({'id': it['id'], 'utterance_scores': u[0].tolist(), 'word_scores': w[0].tolist(),
                         'phone_scores': p[0].tolist()})
    print(f'graph vs training path max |diff| = {maxdiff:.2e}', flush=True)
    # reference outputs for tests/inference/scorer.test.ts (onnxruntime-node must reproduce them)
    index = json.load(open(os.path.join(args.cache, 'dev.json')))
    labels = {u['id']: u['labels'] for u in index['utterances']}
    for r in refs:
        r['words'] = [{'text': w['text'], 'phones': w['phones'], 'source': 'dataset'} for w in labels[r['id']]['words']]
        for k in ('utterance_scores', 'phone_scores'):
            r[k] = [round(v, 5) for v in r[k]]
        r['word_scores'] = [[round(v, 5) for v in row] for row in r['word_scores']]
    if getattr(args, 'fixture', ''):
        os.makedirs(os.path.dirname(os.path.abspath(args.fixture)), exist_ok=True)
        json.dump({'model': args.out, 'sha256': sha, 'split': 'dev', 'references': refs[:3]}, open(args.fixture, 'w'), indent=1)
        print(f'wrote {args.fixture}', flush=True)

    d = summary['dev']
    manifest = {
        'name': 'speechmark-so762-scorer',
        'version': VERSION,
        'kind': 'scorer',
        'file': ONNX_FILE,
        'sha256': sha,
        'sizeBytes': size,
        'opset': OPSET,
        'sampleRate': 16000,
        'phoneSet': PHONES,
        'inputs': [
            {'name': 'samples', 'dtype': 'float32', 'shape': [1, 'N'],
             'description': '16 kHz mono PCM in [-1, 1]; at least 400 samples. Log-mel front-end, energy VAD and timing features are inside the graph.'},
            {'name': 'phone_ids', 'dtype': 'int64', 'shape': [1, 'P'],
             'description': 'canonical phones of the reference text in order, index into phoneSet (stress stripped)'},
            {'name': 'phone_stress', 'dtype': 'int64', 'shape': [1, 'P'],
             'description': '0 consonant; 1, 2, 3 vowel with stress digit 0, 1, 2; 4 vowel without a digit'},
            {'name': 'phone_word_position', 'dtype': 'int64', 'shape': [1, 'P'],
             'description': '0 one-phone word, 1 word-initial, 2 word-internal, 3 word-final'},
            {'name': 'word_membership', 'dtype': 'float32', 'shape': [1, 'W', 'P'],
             'description': '1 where phone p belongs to word w, else 0 (each phone in exactly one word)'},
        ],
        'outputs': [
            {'name': 'utterance_scores', 'dtype': 'float32', 'shape': [1, 5],
             'description': 'sentence accuracy, fluency, prosody, completeness, total; continuous 0-10'},
            {'name': 'word_scores', 'dtype': 'float32', 'shape': [1, 'W', 3],
             'description': 'per word accuracy (0-10), stress (5-10), total (0-10); continuous'},
            {'name': 'phone_scores', 'dtype': 'float32', 'shape': [1, 'P'],
             'description': 'per canonical phone accuracy, continuous 0-2'},
        ],
        'scales': {
            'sentence': {'aspects': ['accuracy', 'fluency', 'prosody', 'completeness', 'total'], 'min': 0, 'max': 10, 'integer': True},
            'word': {'aspects': ['accuracy', 'stress', 'total'], 'min': 0, 'max': 10, 'integer': True,
                     'stress': {'values': [5, 10], 'threshold': summary.get('stressThreshold', 7.5),
                                'note': 'stress output >= threshold is 10, else 5' + (
                                    '; threshold chosen on held-out train speakers' if summary.get('stressThreshold', 7.5) != 7.5 else '; the scale midpoint')}},
            'phoneme': {'aspects': ['accuracy'], 'min': 0, 'max': 2, 'decimals': 1},
        },
        'training': {
            'data': 'SpeechOcean762 train/ (2,500 utterances, 125 speakers; labels rebuilt from the pre-release per-expert scores), CC BY 4.0',
            'recipe': 'scripts/train/README.md: dump.ts (decode via src/audio/decode.ts) then train.py; '
                      f"{summary['parameters']} parameters, conv encoder + phone transformer with cross-attention "
                      'under a proportional alignment prior, utterance context into phone/word heads; '
                      + _pretrain_text(summary) +
                      f"MSE on all levels + {summary['args'].get('ctc_weight')} x CTC on canonical phones; AdamW lr {summary['args'].get('lr')}, "
                      f"batch {summary['args'].get('batch')}, cosine schedule over a {summary['args'].get('max_minutes')}-minute budget; "
                      f"best of {len(summary['history'])} epochs on held-out train speakers (epoch {summary['bestEpoch']}), EMA weights",
            'seed': args.seed,
            'trainMinutes': summary['trainMinutes'],
            'pretrainMinutes': (summary.get('pretrain') or {}).get('minutes', 0),
            'pretrainSteps': (summary.get('pretrain') or {}).get('steps', 0),
            'steps': summary.get('steps'),
            'reproduce': 'npm run train (wall-clock budgets); bitwise: train.py --pretrain-steps '
                         f"{(summary.get('pretrain') or {}).get('steps', 0)} --steps {summary.get('steps')} --threads {summary['args'].get('threads')}",
            'heldOutSpeakers': 'a tenth of train/ speakers, chosen by seed',
            'devResults': {
                'split': 'SpeechOcean762 dev/ (640 utterances, 32 speakers); Pearson correlation of continuous outputs',
                'phoneAccuracy': _r3(d['phone_accuracy']),
                'phoneMse': _r3(d['phone_mse']),
                'wordAccuracy': _r3(d['word_accuracy']),
                'wordStress': _r3(d['word_stress']),
                'wordStressBinary': _r3(d.get('word_stress_binary', float('nan'))),
                'wordTotal': _r3(d['word_total']),
                'utteranceAccuracy': _r3(d['utterance_accuracy']),
                'utteranceFluency': _r3(d['utterance_fluency']),
                'utteranceProsody': _r3(d['utterance_prosody']),
                'utteranceCompleteness': _r3(d['utterance_completeness']),
                'utteranceTotal': _r3(d['utterance_total']),
            },
        },
    }
    json.dump(manifest, open(os.path.join(args.out, 'manifest.json'), 'w'), indent=2)
    print(f"wrote {os.path.join(args.out, 'manifest.json')}", flush=True)

"""Last step of `npm run train`: assemble the GOP bundle (models/default) from the recognisers'
acoustic graph and the heads graph, with a manifest that says what every tensor is.

    /usr/bin/python3 scripts/train/gop_bundle.py [--cache data/train-cache] [--out models/default] [--keep-acoustic]
"""
import argparse
import hashlib
import json
import os
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import PHONES  # noqa: E402

VERSION = 'so762-gop-2.6.0'


def sha256(path):
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


def recogniser_record(manifest):
    """recogniser.py's recognisers.json, as the existing bundle's manifest recorded it."""
    t = manifest['training']
    return {'args': {'seed': t['seed']}, 'folds': t['recognisers'], 'parameters': t['recogniserParameters'], 'minutes': t['recogniserMinutes']}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--cache', default='data/train-cache')
    ap.add_argument('--out', default='models/default')
    ap.add_argument('--total-minutes', type=float, default=None, help='wall-clock of the whole npm run train (printed by it)')
    ap.add_argument('--keep-acoustic', action='store_true',
                    help="refit the heads only: keep <out>/acoustic.onnx, its recognisers' training record and the content "
                         'match (which reads the acoustic graph alone) from the existing manifest')
    args = ap.parse_args()
    gop = os.path.join(args.cache, 'gop')
    old = json.load(open(os.path.join(args.out, 'manifest.json'))) if args.keep_acoustic else None
    recog = recogniser_record(old) if old else json.load(open(os.path.join(gop, 'recognisers.json')))
    heads = json.load(open(os.path.join(gop, 'heads.json')))
    os.makedirs(args.out, exist_ok=True)
    for f in ('heads.onnx',) if old else ('acoustic.onnx', 'heads.onnx'):
        shutil.copyfile(os.path.join(gop, f), os.path.join(args.out, f))
    acoustic, head_file = os.path.join(args.out, 'acoustic.onnx'), os.path.join(args.out, 'heads.onnx')
    K = len(recog['folds'])
    names = heads['features']
    dev = heads['dev']
    manifest = {
        'name': 'speechmark-so762-gop',
        'version': VERSION,
        'kind': 'scorer',
        'pipeline': 'gop',
        'file': 'acoustic.onnx',
        'sha256': sha256(acoustic),
        'sizeBytes': os.path.getsize(acoustic),
        'heads': {'file': 'heads.onnx', 'sha256': sha256(head_file), 'sizeBytes': os.path.getsize(head_file)},
        'recognisers': K,
        'opset': 14,
        'sampleRate': 16000,
        'phoneSet': PHONES,
        'inputs': [{'name': 'samples', 'dtype': 'float32', 'shape': [1, 'N'],
                    'description': '16 kHz mono PCM in [-1, 1]; at least 400 samples. The log-mel front-end is inside the graph.'}],
        'outputs': [
            {'name': 'log_posteriors', 'dtype': 'float32', 'shape': [K, 'T2', len(PHONES) + 1],
             'description': f'per recogniser (K = {K}, cross-fitted by speaker), log-posteriors over blank (index 0) and phoneSet '
                            '(index + 1) per 20 ms frame'},
            {'name': 'frame_energy', 'dtype': 'float32', 'shape': ['T'], 'description': 'frame energy in dB per 10 ms frame (25 ms window)'},
        ],
        'headsInputs': [
            {'name': f'{level}_features', 'dtype': 'float32', 'shape': [f'N_{level}', len(names[level])],
             'description': f'one row per {level} (stacked for the K recognisers): the columns in "features.{level}", '
                            'computed by src/inference/gop/features.ts from the forced alignment'}
            for level in ('phone', 'word', 'utterance')] + [
            {'name': f'{level}_phone_membership', 'dtype': 'float32', 'shape': [f'N_{level}', 'N_phone'],
             'description': f'1 where phone row p belongs to {level} row r, else 0; the graph appends "stackedFeatures" '
                            f'(computed from its own phone predictions) to the {level} rows'}
            for level in ('word', 'utterance')],
        'headsOutputs': [
            {'name': 'phone_scores', 'dtype': 'float32', 'shape': ['N_phone', 1], 'description': 'phone accuracy, continuous 0-2'},
            {'name': 'word_scores', 'dtype': 'float32', 'shape': ['N_word', 3],
             'description': 'word accuracy (0-10), stress (0-10; decoded to 5 or 10 at the threshold), total (0-10); continuous'},
            {'name': 'utterance_scores', 'dtype': 'float32', 'shape': ['N_utterance', 5],
             'description': 'sentence accuracy, fluency, prosody, completeness, total; continuous 0-10'},
        ],
        'features': names,
        'stackedFeatures': heads['stacked'],
        'scales': {
            'sentence': {'aspects': ['accuracy', 'fluency', 'prosody', 'completeness', 'total'], 'min': 0, 'max': 10, 'integer': True},
            'word': {'aspects': ['accuracy', 'stress', 'total'], 'min': 0, 'max': 10, 'integer': True,
                     'stress': {'values': [5, 10], 'threshold': heads['stressThreshold'],
                                'note': 'stress output >= threshold is 10, else 5; the threshold maximised the PCC of the 5/10 labels '
                                        f'on train/ out-of-fold predictions ({heads["stressThresholdTrainCvPcc"]})'}},
            'phoneme': {'aspects': ['accuracy'], 'min': 0, 'max': 2, 'decimals': 1},
        },
        'training': {
            'data': 'SpeechOcean762 train/ (2,500 utterances, 125 speakers; labels rebuilt from the pre-release per-expert scores), CC BY 4.0',
            'recipe': 'scripts/train/README.md: dump.ts, recogniser.py (K CTC recognisers, speaker folds), native_gop.py export '
                      '--context-dependent and native_cd.py table (the native-English model), gop-features.ts '
                      '(server feature code), phone_seq.py cv and fit (the phone transformer blended with the phone trees), heads.py '
                      '(HistGradientBoosting per output, exported as ONNX trees, with the phone transformer inside), gop_bundle.py',
            'seed': recog['args']['seed'],
            'recognisers': [{**{k: f[k] for k in ('fold', 'steps', 'minutes', 'trainUtterances', 'heldOutPER', 'devPER')},
                             **({'teacher': f['teacher']} if f.get('teacher') else {})} for f in recog['folds']],
            'recogniserParameters': recog['parameters'],
            'recogniserMinutes': recog['minutes'],
            'heads': {k: v for k, v in heads['args'].items()},
            'phoneSequence': heads.get('phoneSequence'),
            'headsMinutes': heads['minutes'],
            'totalMinutes': args.total_minutes,
            'reproduce': 'npm run train (wall-clock budgets); bitwise (2 threads): npm run train -- --steps '
                         + ','.join(str(f['steps']) for f in recog['folds']),
            'devResults': {
                'split': 'SpeechOcean762 dev/ (640 utterances, 32 speakers); Pearson correlation of continuous outputs, averaged over the recognisers',
                **{k: v['pcc'] for k, v in dev.items()},
                'phoneMse': dev['phone.accuracy']['mse'],
            },
        },
    }
    if old and old['sha256'] != manifest['sha256']:
        raise SystemExit('--keep-acoustic: acoustic.onnx differs from the manifest it came with')
    if old and 'contentMatch' in old:
        manifest['contentMatch'] = old['contentMatch']
    if old and 'batched' in old:  # the batched copy of the same acoustic graph (scripts/export-batched/)
        manifest['batched'] = old['batched']
    if any(n.startswith('native_') for n in names['phone']):
        # the native-English phone model whose columns end the phone rows (scripts/train/native_gop.py export)
        native = os.path.join(args.out, 'native.onnx')
        if not os.path.exists(native):
            raise SystemExit(f'the heads read native columns but {native} is missing: scripts/train/native_gop.py export')
        manifest['native'] = {
            'file': 'native.onnx', 'sha256': sha256(native), 'sizeBytes': os.path.getsize(native),
            'inputs': [{'name': 'samples', 'dtype': 'float32', 'shape': [1, 'N'], 'description': '16 kHz mono PCM in [-1, 1]'}],
            'outputs': [{'name': 'senone_loglik', 'dtype': 'float32', 'shape': ['T', 126],
                         'description': 'log-likelihood of each context-independent senone (3 per CI phone) per 10 ms frame'}],
            'source': 'CMU Sphinx en-us continuous model (Debian pocketsphinx-en-us 0.8+5prealpha+1, ptm; BSD-2, '
                      'Copyright 1995-2014 Carnegie Mellon University, 2014-2015 Alpha Cephei Inc.); front-end and '
                      'Gaussian scoring exported by scripts/train/native_gop.py, trained on native English speech, not on SpeechOcean762',
        }
        if any(n.startswith('cd_') for n in names['phone']):
            # the context-dependent columns: the graph exported --context-dependent and the model's triphone table
            table = os.path.join(args.out, 'native-triphones.u16')
            if not os.path.exists(table):
                raise SystemExit(f'the heads read context-dependent columns but {table} is missing: scripts/train/native_cd.py table')
            import onnx
            if 'cd_senones' not in {i.name for i in onnx.load(native).graph.input}:
                raise SystemExit(f'the heads read context-dependent columns but {native} has no cd_senones input: '
                                 'scripts/train/native_gop.py export --context-dependent')
            manifest['native']['inputs'].append({'name': 'cd_senones', 'dtype': 'int64', 'shape': ['K'],
                                                 'description': 'the triphone senones (of 5,126) to score: the reference\'s, from the table'})
            manifest['native']['outputs'].append({'name': 'cd_senone_loglik', 'dtype': 'float32', 'shape': ['T', 'K'],
                                                  'description': 'log-likelihood of each senone in cd_senones per 10 ms frame'})
            manifest['native']['triphones'] = {
                'file': 'native-triphones.u16', 'sha256': sha256(table), 'sizeBytes': os.path.getsize(table),
                'description': "the model's triphones as rows of 7 little-endian uint16: base, left, right, word position, "
                               '3 senones (scripts/train/native_cd.py table; src/inference/gop/native-cd.ts)',
            }
    json.dump(manifest, open(os.path.join(args.out, 'manifest.json'), 'w'), indent=2)
    size = (os.path.getsize(acoustic) + os.path.getsize(head_file)) / 1e6
    print(f'wrote {args.out} ({VERSION}, {size:.1f} MB)')


if __name__ == '__main__':
    main()

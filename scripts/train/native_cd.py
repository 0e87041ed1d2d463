"""Issue 13: context-dependent GOP from the native-English model's triphone senones: the numpy reference
and CV experiments (the server's version, so762-gop-2.4.0 on: src/inference/gop/native-cd.ts).

    /usr/bin/python3 scripts/train/native_cd.py table [--out-table F]  # the triphone table the server reads (TriphoneTable.fromBytes)
    /usr/bin/python3 scripts/train/native_cd.py fixture                # the numpy reference for tests/inference/native-cd.test.ts
    /usr/bin/python3 scripts/train/native_cd.py features [--jobs 2]  # -> data/train-cache/native-cd.train.phone.f32, ~9 min on 2 cores
    OMP_NUM_THREADS=2 /usr/bin/python3 scripts/train/native_cd.py cv   # the phone head by speaker-grouped 5-fold CV, with and without them,
                                                                     # then the word and utterance heads on the stacked phone predictions
    (either with --transitions: the model's HMM transition probabilities in the alignments, else they are free)

native_gop.py export scores the 126 context-independent (CI) senones (and, --context-dependent, any
others it is given). The en-us model
is phonetically tied: 42 CI codebooks of 128 Gaussians per stream, and 5,126 senones whose mixture
weights over their base phone's codebook `sendump` holds. Its binary mdef maps each triphone
(base, left, right, word position) to 3 senones. Here, per recording and reference:
  - every reference phone gets its triphone in context (the neighbouring phone across word
    boundaries, silence at the ends; when the mdef lacks that exact context: another word position,
    then silence on one side, then the CI phone);
  - the reference is force-aligned through those triphone HMMs (3 states, transitions free,
    optional silence between words), as native_gop.align does with CI HMMs;
  - over each phone's segment, every speech phone and silence in the same context is scored by its
    own best 3-state path: the canonical triphone's log posterior among them (per frame), its margin
    over the best other and over silence, and the segment's CI log posterior for comparison.
A senone's log-likelihood is computed from the codebook densities once per frame (max-shifted
exponentials), so only the senones needed are scored: the CI ones, the reference's triphones over
all frames, and the candidates over their segment.
dev/ is not read. Results and what shipped: scripts/train/README.md, "Context-dependent GOP".
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import native_gop as N  # noqa: E402

CD_PHONE_FEATURES = ['cd_gop_state', 'cd_lpp', 'cd_gop_phone', 'cd_npp', 'cd_vs_ci', 'cd_log_frames', 'cd_sil_margin',
                     'cd_word_lpp_mean', 'cd_word_lpp_min', 'cd_utterance_lpp_mean', 'ci_segment_lpp']
# the columns that need only the reference's own triphones (no candidates): the serving plan's first step
ALIGNMENT_FEATURES = ['cd_gop_state', 'cd_vs_ci', 'cd_log_frames']
WORD_POSITION = {'internal': 0, 'begin': 1, 'end': 2, 'single': 3}  # the mdef's wpos codes


def read_mdef_triphones(model):
    """The binary mdef's triphones: {(base, left, right, wpos): senones[3]}, each CI phone's senones,
    and every senone's base phone (whose codebook its weights are over)."""
    b = open(os.path.join(model, 'mdef'), 'rb').read()
    _, header_len = struct.unpack('<ii', b[4:12])
    off = (12 + header_len + 3) // 4 * 4
    n_ci, n_phone, n_emit, _, n_sen, _, n_sseq, _, n_cd_tree, _ = struct.unpack('<10i', b[off:off + 40])
    off += 40
    for _ in range(n_ci):
        off = b.index(b'\0', off) + 1
    off = (off + 3) & ~3
    off += 8 * n_cd_tree  # the context tree: we index the phone table directly instead
    phones = np.frombuffer(b, dtype=np.dtype([('ssid', '<i4'), ('tmat', '<i4'), ('attr', 'u1', 4)]), count=n_phone, offset=off)
    off += 12 * n_phone
    size = struct.unpack('<i', b[off:off + 4])[0]
    sseq = np.frombuffer(b, dtype='<u2', count=size, offset=off + 4).reshape(n_sseq, n_emit).astype(np.int64)
    triphones, base_of = {}, np.zeros(n_sen, np.int64)
    for p in range(n_phone):
        wpos, base, left, right = (int(v) for v in phones[p]['attr'])
        base = p if p < n_ci else base
        base_of[sseq[phones[p]['ssid']]] = base
        if p >= n_ci:
            triphones[(base, left, right, wpos)] = sseq[phones[p]['ssid']]
    return triphones, [sseq[phones[p]['ssid']] for p in range(n_ci)], base_of


def read_transitions(model):
    """Each CI phone's HMM transition log-probabilities [42, 3, 4] (state j to j, j+1; the file holds counts)."""
    b = open(os.path.join(model, 'transition_matrices'), 'rb').read()
    o = b.index(b'endhdr\n') + 7
    assert struct.unpack('<I', b[o:o + 4])[0] == 0x11223344, 'byte order'
    n, rows, cols, count = struct.unpack('<4i', b[o + 4:o + 20])
    counts = np.frombuffer(b, '<f4', count=count, offset=o + 20).reshape(n, rows, cols).astype(np.float64)
    with np.errstate(divide='ignore'):
        return np.log(counts / counts.sum(2, keepdims=True))


class ContextModel:
    def __init__(self, path=N.MODEL, transitions=False):
        self.ci_model = N.Model(path)
        # the model's HMM transition probabilities in the alignments (else transitions are free)
        self.tmat = read_transitions(path) if transitions else np.zeros((len(read_transitions(path)), 3, 4))
        self.names = self.ci_model.names
        self.triphones, self.ci, self.base_of = read_mdef_triphones(path)
        self.w = np.exp(N.read_sendump(path, None))  # every senone's weights, linear: [stream, codeword, senone]
        self.pi = {n: i for i, n in enumerate(self.names)}
        self.sil = self.pi['SIL']
        self.candidates = [i for i, n in enumerate(self.names) if not n.startswith('+') and n != 'SIL'] + [self.sil]
        m = self.ci_model
        self.A = [m.A[:, f].reshape(-1, 13).T.copy() for f in range(3)]
        self.B = [m.B[:, f].reshape(-1, 13).T.copy() for f in range(3)]
        self.C = [m.C[:, f].reshape(-1)[None] for f in range(3)]

    def codebooks(self, samples):
        """Per stream: each codebook's max log density [T, 42] and exp(density - max) [T, 42, 128]."""
        feats = N.streams(samples)
        T = len(feats[0])
        out = []
        for f in range(3):
            x = feats[f]
            ln = (x ** 2 @ self.A[f] + x @ self.B[f] + self.C[f]).reshape(T, len(self.names), -1)
            top = ln.max(2)
            out.append((top, np.exp(ln - top[..., None])))
        return out

    def senones(self, books, senones, t0=0, t1=None):
        """[frames, len(senones)] log-likelihoods over frames [t0, t1)."""
        senones = np.asarray(senones)
        base = self.base_of[senones]
        out = 0
        for f, (top, e) in enumerate(books):
            v = np.einsum('tsg,gs->ts', e[t0:t1][:, base, :], self.w[f][:, senones])
            out = out + np.log(np.maximum(v, 1e-300)) + top[t0:t1][:, base]
        return out

    def triphone(self, base, left, right, wpos):
        for key in ((base, left, right, wpos), *((base, left, right, w) for w in range(4)),
                    (base, self.sil, right, wpos), (base, left, self.sil, wpos), (base, self.sil, self.sil, wpos)):
            if key in self.triphones:
                return self.triphones[key]
        return self.ci[base]


def segment_scores(ll, n, tm):
    """Each candidate's best left-to-right 3-state path over a segment of n frames: ll [n, C, 3];
    tm [C, 3, 4] their transition log-probabilities."""
    s = np.full((ll.shape[1], 3), -np.inf)
    s[:, 0] = ll[0, :, 0]
    for t in range(1, n):
        prev = s.copy()
        s[:, 0] = prev[:, 0] + tm[:, 0, 0] + ll[t, :, 0]
        s[:, 1] = np.maximum(prev[:, 1] + tm[:, 1, 1], prev[:, 0] + tm[:, 0, 1]) + ll[t, :, 1]
        s[:, 2] = np.maximum(prev[:, 2] + tm[:, 2, 2], prev[:, 1] + tm[:, 1, 2]) + ll[t, :, 2]
    return s[:, 2] if n >= 3 else s.max(1)  # a segment under 3 frames cannot pass every state


def phone_features(cm, samples, words):
    """CD_PHONE_FEATURES per reference phone, rows in reading order (NaN when too short to align)."""
    P = sum(len(w) for w in words)
    out = np.full((P, len(CD_PHONE_FEATURES)), np.nan, np.float32)
    books = cm.codebooks(samples)
    T = len(books[0][0])
    if T < 3 * P:  # as native_gop.align: three emitting states a frame each at least
        return out
    flat = [cm.pi[p] for w in words for p in w]
    wpos, wid = [], []
    for wi, w in enumerate(words):
        for k in range(len(w)):
            wpos.append(WORD_POSITION['single'] if len(w) == 1 else WORD_POSITION['begin'] if k == 0
                        else WORD_POSITION['end'] if k == len(w) - 1 else WORD_POSITION['internal'])
            wid.append(wi)
    left = [flat[i - 1] if i > 0 else cm.sil for i in range(P)]
    right = [flat[i + 1] if i + 1 < P else cm.sil for i in range(P)]
    tri = [cm.triphone(flat[i], left[i], right[i], wpos[i]) for i in range(P)]
    ci_ll = cm.senones(books, np.arange(3 * len(cm.names)))
    need = np.unique(np.concatenate(tri))
    col = {s: ci_ll.shape[1] + i for i, s in enumerate(need)}
    obs = np.concatenate([ci_ll, cm.senones(books, need)], 1)
    sil = (list(cm.ci[cm.sil]), True, cm.tmat[cm.sil])
    blocks, k = [sil], 0
    for w in words:
        for _ in w:
            blocks.append(([col[s] for s in tri[k]], False, cm.tmat[flat[k]]))
            k += 1
        blocks.append(sil)
    segs, aligned_col = N.viterbi(obs, blocks)
    segs = [segs[i] for i in range(len(blocks)) if not blocks[i][1]]
    aligned = obs[np.arange(T), aligned_col]
    best_ci = ci_ll.max(1)
    me_of = {c: i for i, c in enumerate(cm.candidates)}
    lpps = np.zeros(P)
    for i, (a, b) in enumerate(segs):
        n = b - a
        sens = np.stack([cm.triphone(q, left[i], right[i], wpos[i]) if q != cm.sil else cm.ci[cm.sil] for q in cm.candidates])
        tm = cm.tmat[cm.candidates]
        sc = segment_scores(cm.senones(books, sens.ravel(), a, b).reshape(n, len(cm.candidates), 3), n, tm)
        ci = segment_scores(ci_ll[a:b].reshape(n, -1, 3)[:, cm.candidates, :], n, tm)
        me = me_of[flat[i]]
        lpps[i] = (sc[me] - np.logaddexp.reduce(sc)) / n
        out[i] = [np.mean(aligned[a:b] - best_ci[a:b]), lpps[i], (sc[me] - np.delete(sc, me).max()) / n, np.exp(lpps[i]),
                  (sc[me] - ci[me]) / n, np.log(n), (sc[me] - sc[-1]) / n, 0, 0, 0, (ci[me] - np.logaddexp.reduce(ci)) / n]
    wid = np.array(wid)
    for wi in range(len(words)):
        m = wid == wi
        out[m, 7], out[m, 8] = lpps[m].mean(), lpps[m].min()
    out[:, 9] = lpps.mean()
    return out


def features_path(args):
    return os.path.join(args.cache, 'native-cd-transitions.train.phone.f32' if args.transitions else 'native-cd.train.phone.f32')


def features_part(job):
    cache, part, jobs, transitions = job
    cm, rows = ContextModel(transitions=transitions), []
    for i, (u, samples, words) in enumerate(N.load_split(cache, 'train')):
        if i % jobs == part:
            rows.append((i, phone_features(cm, samples, words)))
    return rows


def features(args):
    from multiprocessing import Pool
    t0 = time.time()
    with Pool(args.jobs) as pool:
        parts = pool.map(features_part, [(args.cache, p, args.jobs, args.transitions) for p in range(args.jobs)])
    x = np.concatenate([r for _, r in sorted(r for part in parts for r in part)])
    x.tofile(features_path(args))
    print(f'train: {x.shape[0]} phone rows, NaN share {np.isnan(x).any(1).mean():.4f}, {time.time() - t0:.0f} s')


def cv(args):
    """Speaker-grouped 5-fold CV on train/: the phone head with and without the CD columns, then each
    word and utterance output on the stacked out-of-fold phone predictions (heads.py's recipe)."""
    import heads as H
    hargs = argparse.Namespace(learning_rate=.05, max_iter=600, max_leaf_nodes=15, min_samples_leaf=40, l2=1.0, cv_folds=5,
                               tree_weights='1,0.75,0.5', seed=1)
    cd = np.fromfile(features_path(args), np.float32).reshape(-1, len(CD_PHONE_FEATURES))
    d0 = H.load(os.path.join(args.cache, 'gop'), 'train')
    y = d0['phone_y'][:, 0]
    assert len(cd) == len(y), 'the CD rows do not match the gop dump: rerun both'
    print('each CD column alone, PCC with the phone label:', ' '.join(f'{n}={H.pcc(np.nan_to_num(cd[:, j]), y):.3f}'
                                                                      for j, n in enumerate(CD_PHONE_FEATURES)))
    alignment_only = [CD_PHONE_FEATURES.index(n) for n in ALIGNMENT_FEATURES]
    for name, extra in (('2.2.0', None), ('+ CD, alignment only', cd[:, alignment_only]), ('+ CD', cd)):
        d = H.load(os.path.join(args.cache, 'gop'), 'train')
        if extra is not None:
            d['phone'] = np.concatenate([d['phone'], extra], 1)
        speakers = [d['meta']['utterances'][u]['speaker'] for u in d['meta']['phone']['utterance']]
        folds = H.speaker_folds(speakers, 5, 1)
        oof, per = np.zeros(len(y)), []
        for k in range(5):
            tr, te = folds != k, folds == k
            oof[te] = H.fit(d['phone'][tr], y[tr], hargs, 1).predict(d['phone'][te])
            per.append(H.pcc(oof[te], y[te]))
        oof = np.clip(oof, 0, 2)
        out = [f'phone {H.pcc(oof, y):.3f} (folds {" ".join(f"{v:.3f}" for v in per)})']
        if not args.phone_only:
            words, utts = H.phone_groups(d)
            d['word'] = np.concatenate([d['word'], H.aggregate(oof, words)], 1)
            d['utterance'] = np.concatenate([d['utterance'], H.aggregate(oof, utts)], 1)
            for level in ('word', 'utterance'):
                groups = [d['meta']['utterances'][u]['speaker'] for u in d['meta'][H.META_KEY[level]]['utterance']]
                for j, aspect in enumerate(H.LEVELS[level][0]):
                    best, scores, _, _ = H.choose_blend(d[level], d[level + '_y'][:, j], groups, hargs, 1 + j)
                    out.append(f'{level[:4]}.{aspect} {scores[str(best)]:.3f}')
        print(f'{name}: ' + ', '.join(out), flush=True)


def reference_triphones(cm, words):
    """Each reference phone's CI id, its triphone's 3 senones, and the table entries any lookup for
    this reference could touch (base a reference phone, left and right a reference phone or SIL)."""
    flat = [cm.pi[p] for w in words for p in w]
    P = len(flat)
    wpos = [WORD_POSITION['single'] if len(w) == 1 else WORD_POSITION['begin'] if k == 0
            else WORD_POSITION['end'] if k == len(w) - 1 else WORD_POSITION['internal'] for w in words for k in range(len(w))]
    tri = [cm.triphone(flat[i], flat[i - 1] if i > 0 else cm.sil, flat[i + 1] if i + 1 < P else cm.sil, wpos[i]) for i in range(P)]
    ctx = set(flat) | {cm.sil}
    table = [[*key, *map(int, sen)] for key, sen in sorted(cm.triphones.items()) if key[0] in set(flat) and key[1] in ctx and key[2] in ctx]
    return tri, table


def fixture(args):
    """What tests/inference/native-cd.test.ts holds src/inference/gop/native-cd.ts to, on the
    recording of native_gop.py's fixture: the triphones chosen, their senones' log-likelihoods
    over every frame, and ALIGNMENT_FEATURES."""
    import base64
    ref = json.load(open(args.native_fixture))
    words = [[p.rstrip('012') for p in w] for w in ref['words']]
    pcm = np.frombuffer(base64.b64decode(ref['pcm_s16le']), dtype='<i2')
    samples = pcm.astype(np.float64) / N.PCM_SCALE
    cm = ContextModel()
    tri, table = reference_triphones(cm, words)
    books = cm.codebooks(samples)
    senones = np.unique(np.concatenate(tri))
    ll = cm.senones(books, senones)
    cols = [CD_PHONE_FEATURES.index(n) for n in ALIGNMENT_FEATURES]
    feats = phone_features(cm, samples, words)[:, cols]
    b64 = lambda a: base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()  # noqa: E731
    json.dump({'about': 'scripts/train/native_cd.py fixture: the numpy reference of src/inference/gop/native-cd.ts',
               'words': ref['words'], 'frames': int(ll.shape[0]), 'triphones': [list(map(int, t)) for t in tri],
               'table': table, 'senones': senones.tolist(), 'cd_senone_loglik_f32': b64(ll.astype('<f4')),
               'names': ALIGNMENT_FEATURES, 'features': feats.tolist()}, open(args.fixture, 'w'))
    print(f'wrote {args.fixture}: {len(senones)} senones, {len(table)} table entries, {len(feats)} phones')


def table(args):
    """The model's triphone table for the server (TriphoneTable.fromBytes in src/inference/gop/native-cd.ts):
    rows of 7 little-endian uint16, base, left, right, word position and the 3 senones, sorted."""
    triphones, _, _ = read_mdef_triphones(N.MODEL)
    rows = np.array([[*key, *sen] for key, sen in sorted(triphones.items())], dtype='<u2')
    rows.tofile(args.out_table)
    print(f'wrote {args.out_table}: {len(rows)} triphones, {os.path.getsize(args.out_table) / 1e6:.2f} MB')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('command', choices=['features', 'cv', 'fixture', 'table'])
    ap.add_argument('--out-table', default='models/default/native-triphones.u16', help='table: where to write it')
    ap.add_argument('--native-fixture', default='tests/inference/fixtures/native-reference.json', help='fixture: the recording and words')
    ap.add_argument('--fixture', default='tests/inference/fixtures/native-cd-reference.json')
    ap.add_argument('--cache', default='data/train-cache')
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--phone-only', action='store_true')
    ap.add_argument('--transitions', action='store_true', help="the model's HMM transition probabilities in the alignments")
    args = ap.parse_args()
    {'features': features, 'cv': cv, 'fixture': fixture, 'table': table}[args.command](args)


if __name__ == '__main__':
    main()

"""Issue 13: phone evidence from an acoustic model trained on NATIVE English speech (CMU Sphinx's
en-us continuous model, Debian package pocketsphinx-en-us), as an ONNX graph the server runs itself.

    apt-get install pocketsphinx-en-us
    /usr/bin/python3 scripts/train/native_gop.py export [--context-dependent] [--model /usr/share/pocketsphinx/model/en-us/en-us] [--out models/default/native.onnx]
    /usr/bin/python3 scripts/train/native_gop.py fixture --pcm F --words 'W IY|K AO L'  # the numpy reference for tests/inference/native.test.ts
    /usr/bin/python3 scripts/train/native_gop.py features [--split train] # numpy reference features -> data/train-cache/native.<split>.phone.f32
    npx tsx scripts/train/gop-features.ts --acoustic models/default/acoustic.onnx   # the server's features, native columns included
    /usr/bin/python3 scripts/train/native_gop.py cv                       # speaker-grouped 5-fold CV of the phone head on train/, with and without them

The model is phonetically tied (PTM): 42 context-independent (CI) phones, each with a codebook of
128 diagonal Gaussians per feature stream (13 cepstra, their deltas, their double deltas), and
mixture weights per senone. We use only the 126 CI senones (3 HMM states per CI phone): per 10 ms
frame, the log-likelihood of each. No native binary runs at serving time: the front-end (Sphinx's
MFCC: pre-emphasis .97, 410-sample Hamming window, 512-point FFT, 25 unit-area mel filters 130-6800
Hz, orthonormal DCT-II, lifter 22, batch CMN, deltas c[t+2]-c[t-2], double deltas
(c[t+3]-c[t-1])-(c[t+1]-c[t-3]); feat.params) and the Gaussian scoring are exported as one graph,
samples [1, N] (float, the server's scale) -> senone_loglik [T, 126]; exported --context-dependent
(so762-gop-2.4.0 on) it also takes cd_senones [K] (any of the 5,126 senones, the reference's
triphones: scripts/train/native_cd.py) and returns cd_senone_loglik [T, K]. The server then force-aligns
the reference's phones with the CI HMMs and computes Witt & Young style GOP columns
(src/inference/gop/native.ts, mirrored by phone_features() here).
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np

MODEL = '/usr/share/pocketsphinx/model/en-us/en-us'
SR, WLEN, SHIFT, NFFT, NFILT, LOWF, UPF, NCEP, LIFT = 16000, 410, 160, 512, 25, 130.0, 6800.0, 13, 22
PCM_SCALE = 32767.0  # the cache's and the server's samples are int16 / 32767; the model's front-end saw int16 values
CI_SEN = 126
NATIVE_PHONE_FEATURES = ['native_gop_state', 'native_lpp', 'native_npp', 'native_argmax_share', 'native_log_frames',
                         'native_competitor', 'native_aligned_ll_rel', 'native_utterance_lpp_mean', 'native_word_lpp_mean',
                         'native_word_lpp_min', 'native_gop_phone']


# ---- the model's files --------------------------------------------------------------------------
def read_mdef(model):
    """The binary mdef's CI phone names (the first n_ciphone phones; CI senone of phone p, state j = 3p + j)."""
    b = open(os.path.join(model, 'mdef'), 'rb').read()
    assert b[:4] == b'BMDF', 'not a binary mdef'
    _, header_len = struct.unpack('<ii', b[4:12])
    off = (12 + header_len + 3) // 4 * 4
    vals = struct.unpack('<10i', b[off:off + 40])
    off += 40
    names = []
    while len(names) < vals[0]:
        end = b.index(b'\0', off)
        names.append(b[off:end].decode())
        off = end + 1
    assert vals[3] == CI_SEN and vals[0] * 3 == CI_SEN, vals
    return names


def read_s3(model, name):
    b = open(os.path.join(model, name), 'rb').read()
    o = b.index(b'endhdr\n') + 7
    assert struct.unpack('<I', b[o:o + 4])[0] == 0x11223344, 'byte order'
    o += 4
    n_mgau, n_feat, n_dens = struct.unpack('<3i', b[o:o + 12])
    o += 12
    veclen = struct.unpack(f'<{n_feat}i', b[o:o + 4 * n_feat])
    o += 4 * n_feat
    blk = struct.unpack('<i', b[o:o + 4])[0]
    o += 4
    assert veclen == (13, 13, 13) and blk == n_mgau * n_feat * n_dens * 13
    return np.frombuffer(b, dtype='<f4', count=blk, offset=o).reshape(n_mgau, n_feat, n_dens, 13).astype(np.float64)


def read_sendump(model, senones=CI_SEN):
    """Quantised mixture weights [stream, codeword, senone] of the first `senones` senones (None: all),
    as log weights (the file holds -log weight in units of 2^10 log(1.0001))."""
    b = open(os.path.join(model, 'sendump'), 'rb').read()
    o = 0
    while True:
        n = struct.unpack('<i', b[o:o + 4])[0]
        o += 4 + n
        if n == 0:
            break
    codewords, n_senones = struct.unpack('<2i', b[o:o + 8])
    o += 8
    mix = np.frombuffer(b, dtype=np.uint8, count=3 * codewords * n_senones, offset=o).reshape(3, codewords, n_senones)
    return -(mix[:, :, :senones].astype(np.float64)) * 1024 * np.log(1.0001)


class Model:
    def __init__(self, path=MODEL):
        self.path = path
        self.names = read_mdef(path)
        self.mu = read_s3(path, 'means')
        self.var = np.maximum(read_s3(path, 'variances'), 1e-4)
        self.logw = read_sendump(path)  # [3, G, 126]
        iv = 1 / self.var
        self.A, self.B = -0.5 * iv, self.mu * iv  # [42, 3, G, 13]
        self.C = -0.5 * (self.mu ** 2 * iv + np.log(2 * np.pi * self.var)).sum(-1)  # [42, 3, G]


# ---- the front-end ------------------------------------------------------------------------------
def mel(x):
    return 2595 * np.log10(1 + x / 700.0)


def melinv(m):
    return 700 * (10 ** (m / 2595.0) - 1)


def filterbank():
    """Sphinx's fe_build_melfilters: edges rounded to FFT bins, unit area."""
    fb = np.zeros((NFILT, NFFT // 2 + 1))
    fftfreq = SR / NFFT
    lo, hi = mel(LOWF), mel(UPF)
    d = (hi - lo) / (NFILT + 1)
    for i in range(NFILT):
        f = [round(melinv((i + j) * d + lo) / fftfreq) * fftfreq for j in range(3)]
        for j in range(NFFT // 2 + 1):
            hz = j * fftfreq
            if hz < f[0]:
                continue
            if hz > f[2] or j == NFFT // 2:
                break
            fb[i, j] = max(0.0, min((hz - f[0]) / (f[1] - f[0]), (f[2] - hz) / (f[2] - f[1]))) * 2 / (f[2] - f[0])
    return fb


FB = filterbank()
DCT = np.cos(np.pi * np.arange(NCEP)[:, None] * (np.arange(NFILT)[None, :] + 0.5) / NFILT) * np.sqrt(2 / NFILT)
DCT[0, :] = np.sqrt(1 / NFILT)
LIFTER = 1 + LIFT / 2 * np.sin(np.pi * np.arange(NCEP) / LIFT)
WINDOW = 0.54 - 0.46 * np.cos(2 * np.pi * np.arange(WLEN) / (WLEN - 1))


def frames_of(n):
    return 1 + (n - WLEN) // SHIFT if n >= WLEN else 0


def streams(samples):
    """samples (the server's float scale) -> [c, d, dd], each [T, 13]."""
    x = np.asarray(samples, np.float64) * PCM_SCALE
    pre = np.append(x[0], x[1:] - 0.97 * x[:-1])
    n = frames_of(len(pre))
    idx = np.arange(WLEN)[None, :] + SHIFT * np.arange(n)[:, None]
    power = np.abs(np.fft.rfft(pre[idx] * WINDOW, NFFT)) ** 2
    c = (np.log(np.maximum(power @ FB.T, 1e-10)) @ DCT.T) * LIFTER
    c = c - c.mean(0)
    T = len(c)
    p = np.pad(c, ((3, 3), (0, 0)), mode='edge')
    g = lambda k: p[3 + k:3 + k + T]  # noqa: E731
    return [c, g(2) - g(-2), (g(3) - g(-1)) - (g(1) - g(-3))]


def senone_loglik(model, samples):
    """[T, 126] log-likelihood of each CI senone: sum over streams of log sum_g w_sg N(x; mu_g, var_g)."""
    feats = streams(samples)
    out = np.zeros((len(feats[0]), CI_SEN))
    phone_of = np.arange(CI_SEN) // 3
    for f in range(3):
        x = feats[f]
        ln = np.einsum('td,pgd->tpg', x ** 2, model.A[:, f]) + np.einsum('td,pgd->tpg', x, model.B[:, f]) + model.C[None, :, f]
        z = ln[:, phone_of, :] + model.logw[f].T[None]  # [T, 126, G]
        m = z.max(2)
        out += m + np.log(np.exp(z - m[..., None]).sum(2))
    return out


# ---- the ONNX graph -----------------------------------------------------------------------------
def export(model, out, context_dependent=False):
    """The graph: samples -> senone_loglik [T, 126]; with context_dependent, also an input cd_senones [K]
    (any of the model's 5,126 senone ids) and their log-likelihoods cd_senone_loglik [T, K]
    (scripts/train/native_cd.py: the server chooses the reference's triphone senones)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    n = helper.make_node
    init = []

    def const(name, arr, dtype=np.float32):
        init.append(numpy_helper.from_array(np.asarray(arr, dtype=dtype), name))
        return name

    nodes = [
        n('Mul', ['samples', const('pcm_scale', PCM_SCALE)], ['x']),
        n('Slice', ['x', const('s0', [0], np.int64), const('s1', [1], np.int64), const('ax1', [1], np.int64)], ['x_first']),
        n('Slice', ['x', const('s1b', [1], np.int64), const('big', [2 ** 62], np.int64), const('ax1b', [1], np.int64)], ['x_next']),
        n('Slice', ['x', const('s0b', [0], np.int64), const('m1', [-1], np.int64), const('ax1c', [1], np.int64)], ['x_prev']),
        n('Mul', ['x_prev', const('alpha', 0.97)], ['x_prev_a']),
        n('Sub', ['x_next', 'x_prev_a'], ['x_diff']),
        n('Concat', ['x_first', 'x_diff'], ['pre'], axis=1),
        n('Unsqueeze', ['pre', const('ax1d', [1], np.int64)], ['pre3']),  # [1, 1, N]
    ]
    k = np.arange(NFFT // 2 + 1)[:, None] * np.arange(WLEN)[None, :] * 2 * np.pi / NFFT
    dft = np.concatenate([np.cos(k), -np.sin(k)], 0) * WINDOW[None, :]  # [514, 410]
    nodes += [
        n('Conv', ['pre3', const('dft', dft[:, None, :])], ['spec'], strides=[SHIFT]),  # [1, 514, T]
        n('Mul', ['spec', 'spec'], ['spec2']),
        n('Reshape', ['spec2', const('shape_ri', [2, NFFT // 2 + 1, -1], np.int64)], ['ri']),
        n('ReduceSum', ['ri', const('ax0', [0], np.int64)], ['power'], keepdims=0),  # [257, T]
        n('Transpose', ['power'], ['power_t'], perm=[1, 0]),  # [T, 257]
        n('MatMul', ['power_t', const('fb', FB.T)], ['melspec']),
        n('Max', ['melspec', const('floor', 1e-10)], ['melspec_f']),
        n('Log', ['melspec_f'], ['logmel']),
        n('MatMul', ['logmel', const('dct', DCT.T * LIFTER[None, :])], ['cep']),  # [T, 13]
        n('ReduceMean', ['cep'], ['cep_mean'], axes=[0], keepdims=1),
        n('Sub', ['cep', 'cep_mean'], ['c']),
        n('Pad', ['c', const('pads', [3, 0, 3, 0], np.int64)], ['cp'], mode='edge'),
    ]

    def shifted(kk):
        name = f'g{kk + 3}'
        end = -(3 - kk) if kk < 3 else 2 ** 62
        nodes.append(n('Slice', ['cp', const(f'{name}_s', [3 + kk], np.int64), const(f'{name}_e', [end], np.int64), const(f'{name}_a', [0], np.int64)], [name]))
        return name

    g = {kk: shifted(kk) for kk in (-3, -2, -1, 1, 2, 3)}
    nodes += [n('Sub', [g[2], g[-2]], ['d']), n('Sub', [g[3], g[-1]], ['dd_a']), n('Sub', [g[1], g[-3]], ['dd_b']), n('Sub', ['dd_a', 'dd_b'], ['dd'])]
    G = model.mu.shape[2]
    for f, x in enumerate(['c', 'd', 'dd']):
        A = model.A[:, f].reshape(-1, 13).T  # [13, 42*G]
        B = model.B[:, f].reshape(-1, 13).T
        nodes += [
            n('Mul', [x, x], [f'{x}_sq']),
            n('MatMul', [f'{x}_sq', const(f'A{f}', A)], [f'qa{f}']),
            n('MatMul', [x, const(f'B{f}', B)], [f'qb{f}']),
            n('Add', [f'qa{f}', f'qb{f}'], [f'q{f}']),
            n('Add', [f'q{f}', const(f'C{f}', model.C[:, f].reshape(-1))], [f'ln{f}']),
            n('Reshape', [f'ln{f}', const(f'sh{f}', [-1, model.mu.shape[0], G], np.int64)], [f'lnp{f}']),
        ]
    inputs = [helper.make_tensor_value_info('samples', TensorProto.FLOAT, [1, 'N'])]
    outputs = [helper.make_tensor_value_info('senone_loglik', TensorProto.FLOAT, ['T', CI_SEN])]
    nodes += senone_nodes(model, n, const, context_dependent)
    if context_dependent:
        inputs.append(helper.make_tensor_value_info('cd_senones', TensorProto.INT64, ['K']))
        outputs.append(helper.make_tensor_value_info('cd_senone_loglik', TensorProto.FLOAT, ['T', 'K']))
    graph = helper.make_graph(nodes, 'native_ci_senones', inputs, outputs, init)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)], producer_name='speechmark native_gop.py')
    m.doc_string = ('CI senone log-likelihoods of CMU Sphinx en-us (pocketsphinx-en-us, ptm) per 10 ms frame; phones: '
                    + ' '.join(model.names))
    onnx.checker.check_model(m)
    onnx.save(m, out)
    print(f'wrote {out} ({os.path.getsize(out) / 1e6:.1f} MB)')


def senone_nodes(model, n, const, context_dependent):
    """Senone log-likelihoods from the codebook densities (lnp{f}: [T, 42, G] per stream): per stream,
    exp(density - the codebook's max) once, weighted by each senone's own mixture weights, summed, back
    to the log domain plus the max. The 126 CI senones (senone_loglik), 3 per base phone, are one
    batched MatMul [42, T, G] x [42, G, 3]; with context_dependent, those given as cd_senones
    (cd_senone_loglik) gather their base phone's densities [T, K, G] and weights [K, G].
    About 3.7 times faster on the CPU than a log-sum-exp per senone over its base phone's codebook
    (42 x G exponentials a frame instead of 126 x G), and the CI senones' MatMul about 1.5 times
    faster again than gathering [T, 126, G] for them (the graph's largest buffers, reallocated for
    every recording length); the same values within float rounding (2e-7 relative)."""
    if context_dependent:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from native_cd import read_mdef_triphones
        _, _, base_of = read_mdef_triphones(model.path)
        weights = np.exp(read_sendump(model.path, None))  # [3, G, 5126]
        nodes = [n('Gather', [const('base_of', base_of, np.int64), 'cd_senones'], ['base'], axis=0)]
    else:
        weights = np.exp(model.logw)  # [3, G, 126]
        nodes = []
    G = weights.shape[1]
    ci, cd = [], []
    for f in range(3):
        ci_weights = weights[f][:, :CI_SEN].reshape(G, CI_SEN // 3, 3).transpose(1, 0, 2)  # [42, G, 3]: senone 3b + j
        nodes += [
            n('ReduceMax', [f'lnp{f}'], [f'top{f}'], axes=[2], keepdims=1),  # [T, 42, 1]
            n('Sub', [f'lnp{f}', f'top{f}'], [f'shift{f}']),
            n('Exp', [f'shift{f}'], [f'e{f}']),
            n('Transpose', [f'e{f}'], [f'eb{f}'], perm=[1, 0, 2]),  # [42, T, G]
            n('MatMul', [f'eb{f}', const(f'wci{f}', ci_weights)], [f'cib{f}']),  # [42, T, 3]
            n('Transpose', [f'cib{f}'], [f'cit{f}'], perm=[1, 0, 2]),  # [T, 42, 3]
            n('Reshape', [f'cit{f}', const(f'ci_shape{f}', [-1, CI_SEN], np.int64)], [f'civ{f}']),
            n('Max', [f'civ{f}', const(f'ci_floor{f}', 1e-30)], [f'civf{f}']),
            n('Log', [f'civf{f}'], [f'cilv{f}']),
            n('Expand', [f'top{f}', const(f'by3_{f}', [1, 1, 3], np.int64)], [f'top3{f}']),  # each base's max, per state
            n('Reshape', [f'top3{f}', const(f'top_shape{f}', [-1, CI_SEN], np.int64)], [f'citop{f}']),
            n('Add', [f'cilv{f}', f'citop{f}'], [f'ci{f}']),
        ]
        ci.append(f'ci{f}')
        if context_dependent:
            nodes += [
                n('Gather', [f'e{f}', 'base'], [f'ek{f}'], axis=1),  # [T, K, G]
                n('Gather', [const(f'w{f}', weights[f].T), 'cd_senones'], [f'wk{f}'], axis=0),  # [K, G]
                n('Mul', [f'ek{f}', f'wk{f}'], [f'ew{f}']),
                n('ReduceSum', [f'ew{f}', const(f'ax2_{f}', [2], np.int64)], [f'v{f}'], keepdims=0),  # [T, K]
                n('Max', [f'v{f}', const(f'floor{f}', 1e-30)], [f'vf{f}']),
                n('Log', [f'vf{f}'], [f'lv{f}']),
                n('Squeeze', [f'top{f}', const(f'sq{f}', [2], np.int64)], [f'top2{f}']),  # [T, 42]
                n('Gather', [f'top2{f}', 'base'], [f'topk{f}'], axis=1),
                n('Add', [f'lv{f}', f'topk{f}'], [f'cd{f}']),
            ]
            cd.append(f'cd{f}')
    nodes.append(n('Sum', ci, ['senone_loglik']))
    return nodes + ([n('Sum', cd, ['cd_senone_loglik'])] if context_dependent else [])


# ---- alignment and features (the numpy reference of src/inference/gop/native.ts) -----------------
def viterbi(obs, blocks):
    """The block Viterbi of align() and native_cd.py (src/inference/gop/native.ts alignBlocks mirrors it).
    obs [T, C]; blocks: (3 columns of obs, optional, transition log-probs [3, 4]) in order.
    Left-to-right 3-state HMMs, optional blocks skippable. Per block its frames [a, b), or None when skipped."""
    cols, preds, exits, starts, stay, leave = [], [], [-1], [], [], []
    for c3, optional, tm in blocks:
        first = len(cols)
        for j in range(3):
            cols.append(c3[j])
            preds.append(list(exits) if j == 0 else [first + j - 1])
            stay.append(tm[j, j])
            leave.append(tm[j, j + 1])  # to the next state, or out of the block from the last
        exits = [first + 2] + (list(exits) if optional else [])
        starts.append(first)
    leave = np.append(leave, 0.0)
    stay = np.asarray(stay)
    S, T = len(cols), len(obs)
    P = np.full((S, max(len(p) for p in preds)), S, np.int64)  # S: a slot that stays -inf
    init = np.full(S, -np.inf)
    for s, p in enumerate(preds):
        q = [x for x in p if x >= 0]
        P[s, :len(q)] = q
        init[s] = 0 if -1 in p else -np.inf
    o = obs[:, cols]
    cost = leave[P]  # leaving the predecessor: its next-state (or exit) transition
    score = np.append(init + o[0], -np.inf)
    back = np.zeros((T, S), np.int64)
    back[0] = np.arange(S)
    ar = np.arange(S)
    for t in range(1, T):
        c = score[P] + cost
        k = c.argmax(1)
        best = c[ar, k]
        kept = score[:S] + stay
        move = best > kept
        back[t] = np.where(move, P[ar, k], ar)
        score = np.append(np.where(move, best, kept) + o[t], -np.inf)
    ends = [q for q in exits if q >= 0]
    s = ends[int(np.argmax(score[ends]))]
    path = np.zeros(T, np.int64)
    for t in range(T - 1, -1, -1):
        path[t] = s
        s = back[t, s]
    segs = []
    for b in starts:
        fr = np.nonzero((path >= b) & (path < b + 3))[0]
        segs.append((int(fr[0]), int(fr[-1]) + 1) if len(fr) else None)
    return segs, np.asarray(cols)[path]


def align(ll, words, pi):
    """Viterbi over SIL? w1 SIL? w2 ... SIL? with 3-state left-to-right CI HMMs (transitions free).
    Returns each reference phone's frames [start, end) and the senone aligned to each frame, or None
    when the recording is shorter than 3 frames per phone."""
    free = np.zeros((3, 4))
    ci = lambda p, optional: ([3 * p, 3 * p + 1, 3 * p + 2], optional, free)  # noqa: E731
    blocks = [ci(pi['SIL'], True)]
    for w in words:
        blocks += [ci(pi[p], False) for p in w] + [ci(pi['SIL'], True)]
    if len(ll) < 3 * sum(len(w) for w in words):
        return None
    segs, aligned = viterbi(ll, blocks)
    return [seg for seg, (_, optional, _) in zip(segs, blocks) if not optional], aligned


def phone_features(model, ll, words):
    """NATIVE_PHONE_FEATURES per reference phone (rows in reading order; NaN when it cannot align)."""
    words = [[p.rstrip('012') for p in w] for w in words]
    pi = {n: i for i, n in enumerate(model.names)}
    speech = [i for i, nm in enumerate(model.names) if not nm.startswith('+')]
    P = sum(len(w) for w in words)
    out = np.full((P, len(NATIVE_PHONE_FEATURES)), np.nan, np.float32)
    r = align(ll, words, pi)
    if r is None:
        return out
    segs, aligned = r
    phone_ll = np.logaddexp.reduce(ll.reshape(len(ll), -1, 3), axis=2)[:, speech]
    logpost = phone_ll - np.logaddexp.reduce(phone_ll, axis=1, keepdims=True)
    best_state = ll.max(1)
    al_ll = ll[np.arange(len(ll)), aligned]
    col = {p: i for i, p in enumerate(speech)}
    rows, wid, k = [], [], 0
    for wi, w in enumerate(words):
        for p in w:
            a, b = segs[k]
            c = col[pi[p]]
            lp = logpost[a:b]
            own = lp[:, c]
            rows.append([np.mean(al_ll[a:b] - best_state[a:b]), own.mean(), np.exp(own).mean(), (lp.argmax(1) == c).mean(),
                         np.log(b - a), np.exp(np.delete(lp, c, axis=1).max(1)).mean(), np.mean(al_ll[a:b]), 0, 0, 0,
                         np.mean(phone_ll[a:b, c] - phone_ll[a:b].max(1))])
            wid.append(wi)
            k += 1
    rows, wid = np.array(rows), np.array(wid)
    rows[:, 6] -= al_ll.mean()
    rows[:, 7] = rows[:, 1].mean()
    for wi in range(len(words)):
        m = wid == wi
        rows[m, 8], rows[m, 9] = rows[m, 1].mean(), rows[m, 1].min()
    return rows.astype(np.float32)


def load_split(cache, split):
    index = json.load(open(os.path.join(cache, f'{split}.json')))
    pcm = np.memmap(os.path.join(cache, f'{split}.pcm'), dtype=np.int16, mode='r')
    for u in index['utterances']:
        samples = np.asarray(pcm[u['offset']:u['offset'] + u['length']], np.float64) / index['scale']
        words = [[p.rstrip('012') for p in w['phones']] for w in u['labels']['words']]
        yield u, samples, words


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('command', choices=['export', 'features', 'cv', 'fixture'])
    ap.add_argument('--model', default=MODEL)
    ap.add_argument('--out', default='models/default/native.onnx')
    ap.add_argument('--cache', default='data/train-cache')
    ap.add_argument('--split', default='train')
    ap.add_argument('--limit', type=int, default=0)
    ap.add_argument('--pcm', help='fixture: 16 kHz mono s16le speech')
    ap.add_argument('--words', help='fixture: the reference, words separated by | and phones by spaces')
    ap.add_argument('--fixture', default='tests/inference/fixtures/native-reference.json')
    ap.add_argument('--context-dependent', action='store_true', help='export: also score any senones given as cd_senones (native_cd.py)')
    args = ap.parse_args()
    model = Model(args.model)
    if args.command == 'export':
        export(model, args.out, args.context_dependent)
    elif args.command == 'fixture':
        fixture(model, args)
    elif args.command == 'features':
        t0, rows = time.time(), []
        for i, (u, samples, words) in enumerate(load_split(args.cache, args.split)):
            if args.limit and i >= args.limit:
                break
            rows.append(phone_features(model, senone_loglik(model, samples), words))
            if (i + 1) % 250 == 0:
                print(f'{i + 1} utterances ({time.time() - t0:.0f} s)', flush=True)
        x = np.concatenate(rows)
        x.tofile(os.path.join(args.cache, f'native.{args.split}.phone.f32'))
        print(f'{args.split}: {x.shape[0]} phone rows, NaN share {np.isnan(x).any(1).mean():.4f}, {time.time() - t0:.0f} s')
    elif args.command == 'cv':
        cv(args)


def fixture(model, args):
    """What tests/inference/native.test.ts holds the server to: this reference's senone
    log-likelihoods and features for one recording (samples included)."""
    import base64
    pcm = np.fromfile(args.pcm, dtype='<i2')
    samples = pcm.astype(np.float64) / PCM_SCALE
    words = [w.split() for w in args.words.split('|')]
    ll = senone_loglik(model, samples)
    feats = phone_features(model, ll, words)
    b64 = lambda a: base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()  # noqa: E731
    json.dump({'about': 'scripts/train/native_gop.py fixture: the numpy reference of models/default/native.onnx and src/inference/gop/native.ts',
               'words': words, 'pcm_s16le': b64(pcm.astype('<i2')), 'frames': len(ll),
               'senone_loglik_f32': b64(ll.astype('<f4')), 'features': feats.tolist(), 'names': NATIVE_PHONE_FEATURES},
              open(args.fixture, 'w'))
    print(f'wrote {args.fixture}: {len(pcm)} samples, {len(ll)} frames, {len(feats)} phones')


def cv(args):
    """Phone accuracy by speaker-grouped 5-fold CV on train/ (dev/ is not read): the heads' phone
    recipe on the contract's columns alone, with the native columns after them, and on the native
    columns with the phone's identity only. Reads the features gop-features.ts wrote (the server's
    code: its phone rows end with the native columns when it ran with --native)."""
    sys.dont_write_bytecode = True
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import heads as H
    d = H.load(os.path.join(args.cache, 'gop'), 'train')
    names = d['meta']['names']['phone']
    native = [i for i, n in enumerate(names) if n in NATIVE_PHONE_FEATURES]
    assert len(native) == len(NATIVE_PHONE_FEATURES), 'run gop-features.ts with --native first'
    base = [i for i in range(len(names)) if i not in native]
    y = d['phone_y'][:, 0]
    speakers = [d['meta']['utterances'][u]['speaker'] for u in d['meta']['phone']['utterance']]
    folds = H.speaker_folds(speakers, 5, 1)
    hargs = argparse.Namespace(learning_rate=.05, max_iter=600, max_leaf_nodes=15, min_samples_leaf=40, l2=1.0)
    x = d['phone']
    print('each native column alone, PCC with the phone label:',
          ' '.join(f'{names[j]}={H.pcc(np.nan_to_num(x[:, j]), y):.3f}' for j in native))
    ids = [names.index(c) for c in ('phone_id', 'is_vowel', 'stress_class', 'word_position', 'word_phones')]
    for name, cols in (('contract (before)', base), ('contract + native', base + native), ('native + phone identity only', native + ids)):
        oof, per = np.zeros(len(y)), []
        for k in range(5):
            tr, te = folds != k, folds == k
            oof[te] = H.fit(x[tr][:, cols], y[tr], hargs, 1).predict(x[te][:, cols])
            per.append(H.pcc(oof[te], y[te]))
        print(f'{name:30s} phone accuracy, out-of-fold PCC {H.pcc(np.clip(oof, 0, 2), y):.3f}; per fold {" ".join(f"{v:.3f}" for v in per)}', flush=True)


if __name__ == '__main__':
    main()

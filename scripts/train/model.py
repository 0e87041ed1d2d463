"""speechmark scorer: raw 16 kHz waveform + canonical phones -> scores at every level.

Everything from the waveform on is one torch module (and so one ONNX graph): the log-mel
front-end (STFT as a conv1d with fixed DFT weights), the energy VAD and global timing features,
the conv audio encoder, the phone encoder, cross-attention with an alignment prior, and the heads.
Training caches the front-end's output (it has no trainable parameters), computed by the very same
`Frontend` module that is exported, so training and serving cannot drift.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

PHONES = ['AA', 'AE', 'AH', 'AO', 'AW', 'AY', 'B', 'CH', 'D', 'DH', 'EH', 'ER', 'EY', 'F', 'G', 'HH',
          'IH', 'IY', 'JH', 'K', 'L', 'M', 'N', 'NG', 'OW', 'OY', 'P', 'R', 'S', 'SH', 'T', 'TH', 'UH',
          'UW', 'V', 'W', 'Y', 'Z', 'ZH']
VOWELS = {'AA', 'AE', 'AH', 'AO', 'AW', 'AY', 'EH', 'ER', 'EY', 'IH', 'IY', 'OW', 'OY', 'UH', 'UW'}

SAMPLE_RATE = 16000
WIN = 400  # 25 ms
HOP = 160  # 10 ms
N_MELS = 80
N_GLOBAL = 8


def phone_inputs(words):
    """words: list of list of phone symbols (with stress digits) -> ids, stress class, word position.

    stress class: 0 consonant, 1/2/3 vowel with stress digit 0/1/2, 4 vowel without a digit.
    word position: 0 one-phone word, 1 word-initial, 2 word-internal, 3 word-final.
    (Mirrored by src/inference/phone-encoding.ts: keep the two in step.)
    """
    ids, stress, pos = [], [], []
    for phones in words:
        n = len(phones)
        for j, p in enumerate(phones):
            base = p.rstrip('012')
            ids.append(PHONES.index(base))
            if base not in VOWELS:
                stress.append(0)
            elif p[-1] in '012':
                stress.append(1 + int(p[-1]))
            else:
                stress.append(4)
            pos.append(0 if n == 1 else 1 if j == 0 else 3 if j == n - 1 else 2)
    return ids, stress, pos


def mel_filterbank(n_fft_bins, n_mels, sr, fmin=20.0, fmax=7600.0):
    def hz2mel(f):
        return 1127.0 * np.log(1.0 + f / 700.0)

    def mel2hz(m):
        return 700.0 * (np.exp(m / 1127.0) - 1.0)

    freqs = np.linspace(0, sr / 2, n_fft_bins)
    mels = np.linspace(hz2mel(fmin), hz2mel(fmax), n_mels + 2)
    hz = mel2hz(mels)
    fb = np.zeros((n_fft_bins, n_mels), dtype=np.float64)
    for m in range(n_mels):
        lo, c, hi = hz[m], hz[m + 1], hz[m + 2]
        up = (freqs - lo) / (c - lo)
        down = (hi - freqs) / (hi - c)
        fb[:, m] = np.maximum(0, np.minimum(up, down))
    return fb.astype(np.float32)


class Frontend(nn.Module):
    """samples [B, N] -> normalised log-mel [B, 80, T], frame energy dB [B, T], global features [B, 8],
    speech span (start, end) in 10 ms frames. Batch 1 in practice (per-utterance normalisation)."""

    def __init__(self):
        super().__init__()
        n = np.arange(WIN)
        window = 0.5 - 0.5 * np.cos(2 * np.pi * n / WIN)  # periodic Hann
        bins = WIN // 2 + 1
        k = np.arange(bins)[:, None]
        ang = 2 * np.pi * k * n[None, :] / WIN
        real = np.cos(ang) * window[None, :]
        imag = -np.sin(ang) * window[None, :]
        dft = np.concatenate([real, imag], 0).astype(np.float32)[:, None, :]  # [2*bins, 1, WIN]
        self.register_buffer('dft', torch.from_numpy(dft))
        self.register_buffer('melfb', torch.from_numpy(mel_filterbank(bins, N_MELS, SAMPLE_RATE)))
        self.register_buffer('smooth', torch.full((1, 1, 5), 0.2))
        self.bins = bins

    def forward(self, samples, n_phones, n_words):
        x = samples[:, None, :]
        x = x - x.mean(dim=2, keepdim=True)  # remove DC
        spec = F.conv1d(x, self.dft, stride=HOP)  # [B, 2*bins, T]
        re, im = spec[:, : self.bins], spec[:, self.bins:]
        power = re * re + im * im  # [B, bins, T]
        mel = torch.matmul(power.transpose(1, 2), self.melfb)  # [B, T, 80]
        logmel = torch.log(mel + 1e-6)
        mean = logmel.mean(dim=1, keepdim=True)
        var = ((logmel - mean) ** 2).mean(dim=1, keepdim=True)
        feats = ((logmel - mean) / torch.sqrt(var + 1e-5)).transpose(1, 2)  # [B, 80, T]

        energy = 10.0 * torch.log10(power.sum(dim=1) + 1e-4)  # [B, T]; int16-scale floor
        sm = F.conv1d(F.pad(energy[:, None, :], (2, 2), mode='replicate'), self.smooth)[:, 0]
        emax = sm.max(dim=1, keepdim=True).values
        emin = sm.min(dim=1, keepdim=True).values
        thr = torch.maximum(emin + 0.35 * (emax - emin), emax - 45.0)
        speech = (sm > thr).float()  # [B, T]
        T = speech.shape[1]
        tf = torch.ones_like(speech).sum(dim=1)  # T as float, traced dynamically
        cs = torch.cumsum(speech, dim=1)
        total = speech.sum(dim=1)
        start = (cs == 0).float().sum(dim=1)
        last = tf - (cs == total[:, None]).float().sum(dim=1)
        has = (total > 0).float()
        start = start * has
        last = last * has + (tf - 1) * (1 - has)
        span = torch.clamp(last - start + 1, min=1.0)
        onsets = torch.relu(speech[:, 1:] - speech[:, :-1]).sum(dim=1)
        dur = tf * 0.01
        span_s = span * 0.01
        g = torch.stack([
            dur / 5.0,
            span_s / 5.0,
            n_phones / span_s / 15.0,
            n_words / span_s / 3.0,
            total / span,  # fraction of the speech span that is speech (pauses lower it)
            onsets / 10.0,
            start * 0.01,
            (tf - 1 - last) * 0.01,
        ], dim=1)
        return feats, g, start, last


class ConvBlock(nn.Module):
    def __init__(self, c, k=5, drop=0.1):
        super().__init__()
        self.norm = nn.LayerNorm(c)
        self.conv1 = nn.Conv1d(c, c, k, padding=k // 2)
        self.conv2 = nn.Conv1d(c, c, 1)
        self.drop = nn.Dropout(drop)

    def forward(self, x, mask):  # x [B, C, T], mask [B, T]
        h = self.norm(x.transpose(1, 2)).transpose(1, 2) * mask[:, None, :]
        h = self.conv2(self.drop(F.gelu(self.conv1(h))))
        return x + self.drop(h)


def mha(q, k, v, heads, bias=None, key_mask=None):
    """q [B,P,C], k/v [B,T,C]; bias [B,H,P,T] or None; key_mask [B,T] 1 valid."""
    B, P, C = q.shape
    T = k.shape[1]
    d = C // heads
    qh = q.reshape(B, P, heads, d).transpose(1, 2)
    kh = k.reshape(B, T, heads, d).transpose(1, 2)
    vh = v.reshape(B, T, heads, d).transpose(1, 2)
    s = torch.matmul(qh, kh.transpose(2, 3)) / math.sqrt(d)
    if bias is not None:
        s = s + bias
    if key_mask is not None:
        s = s + (1.0 - key_mask[:, None, None, :]) * -1e4
    a = torch.softmax(s, dim=-1)
    o = torch.matmul(a, vh).transpose(1, 2).reshape(B, P, C)
    return o, a


class Attn(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(c, c)
        self.k = nn.Linear(c, c)
        self.v = nn.Linear(c, c)
        self.o = nn.Linear(c, c)

    def forward(self, x, mem, bias=None, key_mask=None):
        o, a = mha(self.q(x), self.k(mem), self.v(mem), self.heads, bias, key_mask)
        return self.o(o), a


class FFN(nn.Module):
    def __init__(self, c, drop):
        super().__init__()
        self.l1 = nn.Linear(c, 2 * c)
        self.l2 = nn.Linear(2 * c, c)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        return self.l2(self.drop(F.gelu(self.l1(x))))


class PhoneLayer(nn.Module):
    """self-attention over phones (+ optional cross-attention to audio with alignment prior) + FFN."""

    def __init__(self, c, heads, cross, drop):
        super().__init__()
        self.cross = cross
        self.n1 = nn.LayerNorm(c)
        self.sa = Attn(c, heads)
        if cross:
            self.n2 = nn.LayerNorm(c)
            self.ca = Attn(c, heads)
        self.n3 = nn.LayerNorm(c)
        self.ff = FFN(c, drop)
        self.drop = nn.Dropout(drop)

    def forward(self, x, pmask, audio=None, bias=None, fmask=None):
        h = self.n1(x)
        x = x + self.drop(self.sa(h, h, None, pmask)[0])
        a = None
        if self.cross:
            o, a = self.ca(self.n2(x), audio, bias, fmask)
            x = x + self.drop(o)
        x = x + self.drop(self.ff(self.n3(x)))
        return x, a


class Scorer(nn.Module):
    def __init__(self, c=160, heads=4, conv_layers=4, phone_layers=1, cross_layers=2, drop=0.1):
        super().__init__()
        self.c = c
        self.heads = heads
        self.inp = nn.Conv1d(N_MELS, c, 5, stride=2, padding=2)  # 20 ms frames
        self.blocks = nn.ModuleList([ConvBlock(c, 5, drop) for _ in range(conv_layers)])
        self.anorm = nn.LayerNorm(c)
        self.ctc = nn.Linear(c, len(PHONES) + 1)  # blank = 0
        self.pemb = nn.Embedding(len(PHONES), c)
        self.semb = nn.Embedding(5, c)
        self.wemb = nn.Embedding(4, c)
        self.rel = nn.Linear(1, c)
        self.players = nn.ModuleList([PhoneLayer(c, heads, False, drop) for _ in range(phone_layers)])
        self.xlayers = nn.ModuleList([PhoneLayer(c, heads, True, drop) for _ in range(cross_layers)])
        # prior widths per head, in units of the mean phone duration
        self.log_width = nn.Parameter(torch.log(torch.tensor([0.75, 1.5, 3.0, 6.0][:heads] + [3.0] * max(0, heads - 4))))
        self.pnorm = nn.LayerNorm(c)
        self.ctx = nn.Sequential(nn.Linear(2 * c + N_GLOBAL, c), nn.GELU())  # utterance context
        # phone and word heads see the utterance context and the utterance predictions: a speaker's
        # overall proficiency is a strong prior for every phone (utterance accuracy vs phone: r = .47)
        self.phone_head = nn.Sequential(nn.Linear(2 * c + 3 + 5, c), nn.GELU(), nn.Linear(c, 1))
        self.word_head = nn.Sequential(nn.Linear(2 * c + 2 + 5, c), nn.GELU(), nn.Linear(c, 3))
        self.utt_head = nn.Sequential(nn.Linear(2 * c + N_GLOBAL, c), nn.GELU(), nn.Dropout(drop), nn.Linear(c, 5))

    def init_output_bias(self, phone_mean, word_mean, utt_mean):
        def logit(p):
            p = min(max(p, 0.02), 0.98)
            return math.log(p / (1 - p))

        with torch.no_grad():
            self.phone_head[-1].bias.fill_(logit(phone_mean / 2))
            for i, m in enumerate(word_mean):
                self.word_head[-1].bias[i] = logit(m)
            for i, m in enumerate(utt_mean):
                self.utt_head[-1].bias[i] = logit(m / 10)

    def encode_audio(self, feats, mask10, mask20):
        # masks keep padded frames at zero in training, as the graph's zero padding does at batch 1
        h = F.gelu(self.inp(feats * mask10[:, None, :])) * mask20[:, None, :]
        for b in self.blocks:
            h = b(h, mask20) * mask20[:, None, :]
        return self.anorm(h.transpose(1, 2))  # [B, T2, C]

    def forward(self, feats, mask10, fmask, g, start, last, phone_ids, stress, wpos, pmask, member):
        """feats [B,80,T]; mask10 [B,T]; fmask [B,T2]; g [B,8]; start/last [B] (10 ms frames);
        phone_ids/stress/wpos [B,P] int64; pmask [B,P]; member [B,W,P].
        Returns utt [B,5] (0-10), word [B,W,3] (0-10; stress 5-10), phone [B,P] (0-2), ctc log-probs [B,T2,40]."""
        audio = self.encode_audio(feats, mask10, fmask)
        logp = torch.log_softmax(self.ctc(audio), dim=-1)
        B, T2, _ = audio.shape
        P = phone_ids.shape[1]
        n_ph = pmask.sum(dim=1)  # [B]
        idx = torch.cumsum(pmask, dim=1) - 1.0  # 0..P-1 for valid phones
        rel = (idx + 0.5) / n_ph[:, None]  # [B,P]
        x = self.pemb(phone_ids) + self.semb(stress) + self.wemb(wpos) + self.rel(rel[..., None])
        for layer in self.players:
            x, _ = layer(x, pmask)
        # alignment prior: phone i centred at its proportional place in the speech span
        s2 = start / 2.0
        span2 = (last - start + 1.0) / 2.0
        centre = s2[:, None] + rel * span2[:, None]  # [B,P] in 20 ms frames
        width = torch.clamp(span2 / n_ph, min=1.0)  # [B]
        t = torch.cumsum(torch.ones_like(audio[:, :, 0]), dim=1) - 0.5  # [B,T2] frame centres
        dist = (t[:, None, :] - centre[:, :, None]) / width[:, None, None]  # [B,P,T2]
        w = torch.exp(self.log_width)[None, :, None, None]
        bias = -0.5 * (dist[:, None] / w) ** 2  # [B,H,P,T2]
        att = None
        for layer in self.xlayers:
            x, a = layer(x, pmask, audio, bias, fmask)
            if att is None:
                att = a.mean(dim=1)  # [B,P,T2]
        x = self.pnorm(x)
        # GOP-like evidence: CTC posterior of the canonical phone in the attended region
        probs = torch.exp(logp)
        onehot = F.one_hot(phone_ids + 1, len(PHONES) + 1).float()  # [B,P,40]
        pcan = torch.matmul(onehot, probs.transpose(1, 2))  # [B,P,T2]
        can = (att * pcan).sum(dim=2)  # [B,P]
        nonblank = (att * (1.0 - probs[:, :, 0])[:, None, :]).sum(dim=2)
        gop = torch.stack([can / (nonblank + 1e-3), torch.log(can + 1e-4) / 10.0, nonblank], dim=2)
        pm = pmask / torch.clamp(n_ph[:, None], min=1.0)
        ppool = (x * pm[..., None]).sum(dim=1)
        fm = fmask / torch.clamp(fmask.sum(dim=1, keepdim=True), min=1.0)
        apool = (audio * fm[..., None]).sum(dim=1)
        ugin = torch.cat([ppool, apool, g], dim=1)
        utt = 10.0 * torch.sigmoid(self.utt_head(ugin))  # [B,5]
        ctx = torch.cat([self.ctx(ugin), utt / 10.0], dim=1)  # [B,C+5]
        pctx = ctx[:, None, :].expand(ctx.shape[0], x.shape[1], ctx.shape[1])
        phone = 2.0 * torch.sigmoid(self.phone_head(torch.cat([x, pctx, gop], dim=2))[..., 0])  # [B,P]

        wsum = member.sum(dim=2, keepdim=True)
        mn = member / torch.clamp(wsum, min=1.0)
        wstate = torch.matmul(mn, x)
        wphone = torch.matmul(mn, phone[..., None]) / 2.0
        wctx = ctx[:, None, :].expand(ctx.shape[0], wstate.shape[1], ctx.shape[1])
        wout = self.word_head(torch.cat([wstate, wctx, wphone, wsum / 10.0], dim=2))
        wsig = torch.sigmoid(wout)
        word = torch.cat([10.0 * wsig[..., 0:1], 5.0 + 5.0 * wsig[..., 1:2], 10.0 * wsig[..., 2:3]], dim=2)

        return utt, word, phone, logp


class Exported(nn.Module):
    """The ONNX graph: batch 1, no padding."""

    def __init__(self, scorer):
        super().__init__()
        self.front = Frontend()
        self.scorer = scorer

    def forward(self, samples, phone_ids, phone_stress, phone_word_position, word_membership):
        pmask = torch.ones_like(phone_ids).float()
        n_ph = pmask.sum(dim=1)
        n_w = torch.ones_like(word_membership[:, :, 0]).sum(dim=1)
        feats, g, start, last = self.front(samples, n_ph, n_w)
        # frame mask for the 20 ms frames (all valid: no padding at batch 1)
        mask10 = torch.ones_like(feats[:, 0, :])
        mask20 = torch.ones_like(feats[:, 0, ::2])
        utt, word, phone, _ = self.scorer(feats, mask10, mask20, g, start, last, phone_ids, phone_stress,
                                          phone_word_position, pmask, word_membership)
        return utt, word, phone


class Recogniser(nn.Module):
    """CTC phone recogniser for the GOP pipeline: normalised log-mel [B, 80, T] -> log-posteriors
    [B, T/2, 40] over blank + the 39 phones (20 ms frames). Same layout as the scorer's audio
    encoder (so `greedy_per` in train.py works on both), deeper and wider."""

    def __init__(self, c=160, layers=6, k=5, drop=0.15):
        super().__init__()
        self.inp = nn.Conv1d(N_MELS, c, 5, stride=2, padding=2)  # 20 ms frames
        self.blocks = nn.ModuleList([ConvBlock(c, k, drop) for _ in range(layers)])
        self.anorm = nn.LayerNorm(c)
        self.ctc = nn.Linear(c, len(PHONES) + 1)  # blank = 0

    def encode_audio(self, feats, mask10, mask20):
        h = F.gelu(self.inp(feats * mask10[:, None, :])) * mask20[:, None, :]
        for b in self.blocks:
            h = b(h, mask20) * mask20[:, None, :]
        return self.anorm(h.transpose(1, 2))

    def forward(self, feats, mask10, mask20):
        return torch.log_softmax(self.ctc(self.encode_audio(feats, mask10, mask20)), dim=-1)


class AcousticExported(nn.Module):
    """The GOP bundle's acoustic graph: samples [1, N] -> log-posteriors [K, T/2, 40] of the K
    cross-fitted recognisers, and frame energy in dB [T] (10 ms) for the pause/prosody features."""

    def __init__(self, recognisers):
        super().__init__()
        self.front = Frontend()
        self.recognisers = nn.ModuleList(recognisers)

    def forward(self, samples):
        one = torch.ones_like(samples[:, 0])
        feats, _, _, _ = self.front(samples, one, one)
        x = samples[:, None, :] - samples.mean(dim=1, keepdim=True)[:, None, :]
        spec = F.conv1d(x, self.front.dft, stride=HOP)
        re, im = spec[:, : self.front.bins], spec[:, self.front.bins:]
        energy = 10.0 * torch.log10((re * re + im * im).sum(dim=1) + 1e-4)[0]
        mask10 = torch.ones_like(feats[:, 0, :])
        mask20 = torch.ones_like(feats[:, 0, ::2])
        logp = torch.cat([r(feats, mask10, mask20) for r in self.recognisers], dim=0)
        return logp, energy

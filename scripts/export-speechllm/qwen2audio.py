"""A compact Qwen2-Audio (Qwen2AudioForConditionalGeneration) in plain torch, with Hugging Face
parameter names, so a checkpoint's state dict loads as it is:

- audio_tower.*: Whisper-style encoder (conv1/conv2 + GELU, embed_positions, pre-LN layers with
  self_attn q/k/v/out_proj and fc1/fc2), then Qwen2-Audio's AvgPool1d(2) and layer_norm;
- multi_modal_projector.linear;
- language_model.model.*: Qwen2 decoder (embed_tokens, RMSNorm, rotary attention with biases on
  q/k/v and grouped key/value heads, SwiGLU mlp) and language_model.lm_head.

It is the reference the exported graphs are checked against and the module they are traced from.
The audio front-end has two forms that give the same frames:

- Hugging Face's (`hf_features` + `encode_audio(..., masked=True)`, the reference): the recording
  zero-padded to 30 s, the log-mel by torch.stft, the audio tower over all 3000 mel frames with the
  padding masked out of attention, the first T frames kept;
- the graph's (`samples_to_audio`, exported): the recording zero-padded by a few frames only (the
  convolutions at the end see the same silence), the log-mel by `LogMel` (a fixed DFT basis applied
  by conv1d: torch 1.13's ONNX exporter has no stft), the tower on the valid frames only."""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160


# The defaults of transformers' Qwen2AudioEncoderConfig and Qwen2Config: a checkpoint's config.json
# stores only the fields that differ (Qwen2-Audio-7B's text_config names no hidden_size or layer count).
AUDIO_DEFAULTS = {"num_mel_bins": 128, "encoder_layers": 32, "encoder_attention_heads": 20, "encoder_ffn_dim": 5120,
                  "d_model": 1280, "max_source_positions": 1500, "activation_function": "gelu"}
TEXT_DEFAULTS = {"vocab_size": 151936, "hidden_size": 4096, "intermediate_size": 22016, "num_hidden_layers": 32,
                 "num_attention_heads": 32, "num_key_value_heads": None, "hidden_act": "silu", "rms_norm_eps": 1e-6,
                 "rope_theta": 10000.0, "rope_scaling": None, "tie_word_embeddings": False}


class Config:
    """The fields of a Qwen2AudioConfig (config.json) this implementation uses, defaults filled in."""

    def __init__(self, raw):
        a = {**AUDIO_DEFAULTS, **(raw.get("audio_config") or {})}
        t = {**TEXT_DEFAULTS, **(raw.get("text_config") or {})}
        self.raw = raw
        self.audio_token_index = raw.get("audio_token_index", 151646)
        self.n_mels = a["num_mel_bins"]
        self.a_dim = a["d_model"]
        self.a_layers = a["encoder_layers"]
        self.a_heads = a["encoder_attention_heads"]
        self.a_ffn = a["encoder_ffn_dim"]
        self.a_positions = a["max_source_positions"]
        if a["activation_function"] != "gelu":
            raise ValueError(f"audio_config.activation_function {a['activation_function']} is not supported (gelu)")
        self.vocab = t["vocab_size"]
        self.dim = t["hidden_size"]
        self.layers = t["num_hidden_layers"]
        self.heads = t["num_attention_heads"]
        self.kv_heads = t["num_key_value_heads"] or self.heads
        self.head_dim = self.dim // self.heads
        self.ffn = t["intermediate_size"]
        self.eps = t["rms_norm_eps"]
        self.theta = t["rope_theta"]
        if t["rope_scaling"]:
            raise ValueError("text_config.rope_scaling is not supported")
        if t["hidden_act"] != "silu":
            raise ValueError(f"text_config.hidden_act {t['hidden_act']} is not supported (silu)")
        self.tie_embeddings = raw.get("tie_word_embeddings", t["tie_word_embeddings"])

    def summary(self):
        """The dimensions as read, for --print-config."""
        return {"audio": {"numMelBins": self.n_mels, "layers": self.a_layers, "heads": self.a_heads, "dim": self.a_dim, "ffn": self.a_ffn},
                "text": {"vocab": self.vocab, "layers": self.layers, "heads": self.heads, "kvHeads": self.kv_heads, "headDim": self.head_dim,
                         "dim": self.dim, "ffn": self.ffn},
                "audioTokenIndex": self.audio_token_index}

    @staticmethod
    def load(folder):
        with open(os.path.join(folder, "config.json")) as f:
            return Config(json.load(f))


# ------------------------------------------------------------------ log-mel front-end (Whisper's)

def _hz_to_mel(f):
    """Slaney mel scale (linear below 1 kHz, logarithmic above), as Whisper's filters use."""
    f = np.asarray(f, dtype=np.float64)
    mel = 3.0 * f / 200.0
    log_region = f >= 1000.0
    return np.where(log_region, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), mel)


def _mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), 200.0 * m / 3.0)


def mel_filters(n_mels, n_fft=N_FFT, sr=SAMPLE_RATE):
    """[n_mels, n_fft/2+1] Slaney-normalised triangular filters from 0 to 8 kHz (librosa's / Whisper's)."""
    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    mel_pts = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(sr / 2), n_mels + 2))
    fdiff = np.diff(mel_pts)
    ramps = mel_pts[:, None] - freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_pts[2:n_mels + 2] - mel_pts[:n_mels]))[:, None]
    return torch.tensor(weights, dtype=torch.float32)


def _normalise(mel_power):
    """log10, floor 8 (decades) below the utterance's maximum, then (x + 4) / 4, as Whisper does."""
    log_spec = torch.clamp(mel_power, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


CHUNK_SAMPLES = 30 * SAMPLE_RATE  # Qwen2-Audio's processor pads (and cuts) every recording to 30 s


def valid_mel_frames(n_samples):
    """Mel frames Hugging Face's processor counts as audio (its attention mask, every 160th sample)."""
    return (n_samples + HOP - 1) // HOP


def hf_features(samples, n_mels):
    """What WhisperFeatureExtractor gives Qwen2-Audio: ([1, n_mels, 3000] log-mel of the recording
    cut or zero-padded to 30 s, number of valid frames)."""
    samples = samples[:, :CHUNK_SAMPLES]
    n = samples.shape[1]
    return log_mel_reference(F.pad(samples, (0, CHUNK_SAMPLES - n)), n_mels), valid_mel_frames(n)


def log_mel_reference(samples, n_mels):
    """[1, N] samples -> [1, n_mels, N // 160] with torch.stft (centred, reflect-padded, last frame dropped)."""
    window = torch.hann_window(N_FFT)
    stft = torch.stft(samples, N_FFT, HOP, window=window, center=True, pad_mode="reflect", return_complex=True)
    power = stft[..., :-1].abs() ** 2
    return _normalise(mel_filters(n_mels) @ power)


class LogMel(nn.Module):
    """The same front-end as log_mel_reference, from exportable ops: reflect padding, a conv1d whose
    402 kernels are the Hann-windowed cosine and sine rows of the 400-point DFT (bins 0..200), the
    power, the mel matrix as a constant."""

    def __init__(self, n_mels):
        super().__init__()
        n = torch.arange(N_FFT, dtype=torch.float64)
        k = torch.arange(N_FFT // 2 + 1, dtype=torch.float64)
        angle = 2 * math.pi * k[:, None] * n[None, :] / N_FFT
        window = torch.hann_window(N_FFT, dtype=torch.float64)
        basis = torch.cat([torch.cos(angle) * window, -torch.sin(angle) * window])  # [402, 400]
        self.register_buffer("basis", basis.float()[:, None, :], persistent=False)
        self.register_buffer("mel", mel_filters(n_mels), persistent=False)

    def forward(self, samples):  # [1, N]
        x = F.pad(samples[:, None, :], (N_FFT // 2, N_FFT // 2), mode="reflect")
        spec = F.conv1d(x, self.basis, stride=HOP)  # [1, 402, N // 160 + 1]
        bins = N_FFT // 2 + 1
        power = spec[:, :bins] ** 2 + spec[:, bins:] ** 2
        return _normalise(torch.matmul(self.mel, power[:, :, :-1]))


# ------------------------------------------------------------------ audio tower

class AudioAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(dim, dim, bias=False)
        self.v_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x, key_mask=None):
        """key_mask: [1, 1, 1, t] additive (-inf on padding keys), or None."""
        b, t, d = x.shape
        split = lambda y: y.view(b, t, self.heads, self.head_dim).transpose(1, 2)
        q = split(self.q_proj(x) * self.head_dim ** -0.5)
        k, v = split(self.k_proj(x)), split(self.v_proj(x))
        scores = q @ k.transpose(-1, -2)
        att = torch.softmax(scores if key_mask is None else scores + key_mask, dim=-1)
        return self.out_proj((att @ v).transpose(1, 2).reshape(b, t, d))


class AudioLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self_attn = AudioAttention(cfg.a_dim, cfg.a_heads)
        self.self_attn_layer_norm = nn.LayerNorm(cfg.a_dim)
        self.fc1 = nn.Linear(cfg.a_dim, cfg.a_ffn)
        self.fc2 = nn.Linear(cfg.a_ffn, cfg.a_dim)
        self.final_layer_norm = nn.LayerNorm(cfg.a_dim)

    def forward(self, x, key_mask=None):
        x = x + self.self_attn(self.self_attn_layer_norm(x), key_mask)
        return x + self.fc2(F.gelu(self.fc1(self.final_layer_norm(x))))


class AudioTower(nn.Module):
    """Qwen2AudioEncoder: [1, n_mels, M] log-mel of which the first `valid` frames are the recording ->
    [1, T, a_dim], T = ((valid - 1) // 2 + 1) // 2 (its _get_feat_extract_output_lengths).

    masked=True is Hugging Face's way (attention over every frame, the padding keys masked out);
    masked=False drops the padding frames after the convolutions instead, which gives the same
    frames (attention is the only place positions meet) and is what the graph does."""

    def __init__(self, cfg):
        super().__init__()
        self.conv1 = nn.Conv1d(cfg.n_mels, cfg.a_dim, 3, padding=1)
        self.conv2 = nn.Conv1d(cfg.a_dim, cfg.a_dim, 3, stride=2, padding=1)
        self.embed_positions = nn.Embedding(cfg.a_positions, cfg.a_dim)
        self.layers = nn.ModuleList(AudioLayer(cfg) for _ in range(cfg.a_layers))
        self.avg_pooler = nn.AvgPool1d(2, stride=2)
        self.layer_norm = nn.LayerNorm(cfg.a_dim)

    def forward(self, mel, valid, masked=False):
        x = F.gelu(self.conv2(F.gelu(self.conv1(mel)))).transpose(1, 2)
        kept = (valid - 1) // 2 + 1  # conv2 frames that hold the recording
        key_mask = None
        if masked:
            key_mask = torch.zeros(1, 1, 1, x.shape[1])
            key_mask[..., kept:] = float("-inf")
        else:
            x = x[:, :kept]
        x = x + self.embed_positions.weight[: x.shape[1]]
        for layer in self.layers:
            x = layer(x, key_mask)
        x = self.avg_pooler(x.transpose(1, 2)).transpose(1, 2)
        return self.layer_norm(x)[:, : kept // 2]


class Projector(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.linear = nn.Linear(cfg.a_dim, cfg.dim)


# ------------------------------------------------------------------ Qwen2 decoder

class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class DecoderAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.q_proj = nn.Linear(cfg.dim, cfg.heads * cfg.head_dim)
        self.k_proj = nn.Linear(cfg.dim, cfg.kv_heads * cfg.head_dim)
        self.v_proj = nn.Linear(cfg.dim, cfg.kv_heads * cfg.head_dim)
        self.o_proj = nn.Linear(cfg.heads * cfg.head_dim, cfg.dim, bias=False)

    def repeat_kv(self, t):
        """[1,Hkv,L,Dh] -> [1,H,L,Dh], each key/value head shared by heads/kv_heads query heads (HF's
        repeat_kv); expand + reshape with L left free, as repeat_interleave's export freezes it."""
        c = self.cfg
        groups = c.heads // c.kv_heads
        if groups == 1:
            return t
        return t[:, :, None].expand(-1, -1, groups, -1, -1).reshape(t.shape[0], c.heads, -1, c.head_dim)

    def forward(self, x, cos, sin, mask, past_k, past_v):
        """x [1,S,dim]; past [1,Hkv,L,Dh] -> (out, k [1,Hkv,L+S,Dh], v)."""
        c = self.cfg
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, c.heads, c.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, s, c.kv_heads, c.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, s, c.kv_heads, c.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        kk, vv = self.repeat_kv(k), self.repeat_kv(v)
        att = torch.softmax((q @ kk.transpose(-1, -2)) / math.sqrt(c.head_dim) + mask, dim=-1)
        return self.o_proj((att @ vv).transpose(1, 2).reshape(b, s, c.heads * c.head_dim)), k, v


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.dim, cfg.ffn, bias=False)
        self.up_proj = nn.Linear(cfg.dim, cfg.ffn, bias=False)
        self.down_proj = nn.Linear(cfg.ffn, cfg.dim, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self_attn = DecoderAttention(cfg)
        self.mlp = MLP(cfg)
        self.input_layernorm = RMSNorm(cfg.dim, cfg.eps)
        self.post_attention_layernorm = RMSNorm(cfg.dim, cfg.eps)

    def forward(self, x, cos, sin, mask, past_k, past_v):
        h, k, v = self.self_attn(self.input_layernorm(x), cos, sin, mask, past_k, past_v)
        x = x + h
        return x + self.mlp(self.post_attention_layernorm(x)), k, v


class Qwen2Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab, cfg.dim)
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.layers))
        self.norm = RMSNorm(cfg.dim, cfg.eps)


class LanguageModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.model = Qwen2Model(cfg)
        self.lm_head = nn.Linear(cfg.dim, cfg.vocab, bias=False)


class Qwen2Audio(nn.Module):
    """Qwen2AudioForConditionalGeneration's parameters and the two halves the bundle needs."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.audio_tower = AudioTower(cfg)
        self.multi_modal_projector = Projector(cfg)
        self.language_model = LanguageModel(cfg)
        half = cfg.head_dim // 2
        inv_freq = 1.0 / (cfg.theta ** (torch.arange(0, half, dtype=torch.float32) * 2 / cfg.head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def load_shard(self, weights, loaded):
        """Copy one shard's weights into the parameters (checking shapes); names are added to `loaded`."""
        own = self.state_dict()
        for k, v in weights.items():
            if k not in own:
                continue  # e.g. rotary inv_freq buffers some checkpoints store
            if tuple(v.shape) != tuple(own[k].shape):
                raise ValueError(f"{k}: checkpoint shape {tuple(v.shape)}, config says {tuple(own[k].shape)}")
            with torch.no_grad():
                own[k].copy_(v)
            loaded.add(k)

    def finish_loading(self, loaded):
        """Tie lm_head to embed_tokens when the config says so and the checkpoint has none; every parameter must be loaded."""
        head = "language_model.lm_head.weight"
        if head not in loaded and self.cfg.tie_embeddings and "language_model.model.embed_tokens.weight" in loaded:
            with torch.no_grad():
                self.language_model.lm_head.weight.copy_(self.language_model.model.embed_tokens.weight)
            loaded.add(head)
        missing = [k for k in self.state_dict() if k not in loaded]
        if missing:
            raise KeyError(f"checkpoint lacks {len(missing)} parameter(s), e.g. {missing[:5]}")

    # -- audio
    def encode_audio(self, mel, valid, masked=False):
        """[1, n_mels, M] log-mel with `valid` frames of recording -> [1, T, dim] projected audio frames."""
        return self.multi_modal_projector.linear(self.audio_tower(mel, valid, masked))

    def reference_audio(self, samples):
        """[1, N] samples -> [1, T, dim] the way Hugging Face's processor and model compute them."""
        mel, valid = hf_features(samples, self.cfg.n_mels)
        return self.encode_audio(mel, valid, masked=True)

    # -- text
    def merge_audio(self, input_ids, audio):
        """Token embeddings with the k-th audio placeholder replaced by frame k (CumSum, as the graph does)."""
        embeds = self.language_model.model.embed_tokens(input_ids)
        is_audio = input_ids == self.cfg.audio_token_index
        frame = (torch.cumsum(is_audio.to(torch.int64), dim=1) - 1).clamp(min=0)  # [1, S]
        frames = audio[0][frame[0]][None]  # [1, S, dim]
        return torch.where(is_audio[..., None], frames, embeds)

    def decode(self, embeds, past):
        """embeds [1,S,dim], past [(k, v)] each [1,Hkv,L,Dh] -> logits [1,S,V], presents. Positions L..L+S-1."""
        c = self.cfg
        s = embeds.shape[1]
        past_len = past[0][0].shape[2]
        pos = torch.arange(s, dtype=torch.float32) + past_len  # traced: Shape(past.0.key)[2]
        freqs = pos[:, None] * self.inv_freq[None, :]
        emb = torch.cat([freqs, freqs], dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        key_pos = torch.arange(s + past_len, dtype=torch.float32)
        mask = torch.where(key_pos[None, :] > pos[:, None], torch.tensor(-1e9), torch.tensor(0.0))[None, None]
        x, presents = embeds, []
        for layer, (pk, pv) in zip(self.language_model.model.layers, past):
            x, k, v = layer(x, cos, sin, mask, pk, pv)
            presents.append((k, v))
        return self.language_model.lm_head(self.language_model.model.norm(x)), presents

    def empty_past(self):
        c = self.cfg
        return [(torch.zeros(1, c.kv_heads, 0, c.head_dim), torch.zeros(1, c.kv_heads, 0, c.head_dim)) for _ in range(c.layers)]


class GraphFrontEnd(nn.Module):
    """[1, N] samples -> [1, T, dim], traceable: the first 30 s of the recording zero-padded by 5 frames (enough
    silence for the convolutions at its end to see what they see in the 30 s padding), LogMel, the
    tower on the valid frames. The frame count is computed from Shape(samples) inside the graph."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.log_mel = LogMel(model.cfg.n_mels)

    def forward(self, samples):
        samples = samples[:, :CHUNK_SAMPLES]  # the processor keeps the first 30 s
        valid = (samples.shape[1] + HOP - 1) // HOP
        mel = self.log_mel(F.pad(samples, (0, 5 * HOP)))
        return self.model.encode_audio(mel, valid)


def load_model(checkpoint, adapter=None):
    """(model, merged LoRA module names) for a checkpoint folder and an optional PEFT adapter folder.
    Shard by shard, the adapter merged into each, so the model's weights are held once plus one shard."""
    from weights import LoraAdapter, iter_checkpoint_weights

    model = Qwen2Audio(Config.load(checkpoint))
    lora = LoraAdapter(adapter) if adapter else None
    loaded = set()
    for shard in iter_checkpoint_weights(checkpoint):
        if lora:
            lora.merge_into(shard)
        model.load_shard(shard, loaded)
        del shard
    model.finish_loading(loaded)
    return model.eval(), (lora.check_all_merged() if lora else [])

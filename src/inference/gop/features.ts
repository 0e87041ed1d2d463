/**
 * GOP-style features at phone, word and utterance level from one recogniser's log-posteriors,
 * the forced alignment of the canonical phones, frame energy and pitch.
 *
 * The same code computes the heads' training features (scripts/train/gop-features.ts) and the
 * server's, so training and serving cannot drift. The name lists below are the heads' input
 * contract: the bundle's manifest records them and loading refuses a bundle whose lists differ.
 */
import { phoneId, PHONES, stripStress, VOWELS, type Phone } from '../../text/phones.js';
import type { ReferenceWord } from '../../types.js';
import { forcedAlign, type PhoneSegment } from './align.js';
import { trackPitch } from './pitch.js';

/** blank + the 39 phones */
export const VOCAB = PHONES.length + 1;
/** Recogniser frames are 20 ms; energy frames 10 ms. */
const FRAME_S = 0.02;
/** A blank run between words at least this long (20 ms frames) is a pause. */
const PAUSE_FRAMES = 10;

export const PHONE_FEATURES = [
  'lpp', 'lpp_max', 'lpr', 'npp', 'npp_max', 'npp_context', 'argmax_share', 'blank', 'entropy', 'competitor',
  'log_frames', 'relative_duration', 'relative_energy', 'phone_id', 'is_vowel', 'stress_class', 'word_position', 'word_phones',
  'word_npp_mean', 'word_npp_min', 'utterance_npp_mean', 'utterance_lpr_mean', 'previous_npp', 'next_npp',
  ...PHONES.map((p) => `posterior_${p}`),
] as const;

/**
 * The word's lexically stressed vowel against the word's other vowels and against the speaker's own
 * range in the utterance (relativeStress below). Issue 13: speaker-grouped CV on train/ raised word
 * stress PCC from .306 to .356 with them (scripts/train/stress_cv.py, scripts/train/README.md).
 */
export const RELATIVE_STRESS_FEATURES = [
  'lexical_stress', 'stressed_duration_vs_word', 'stressed_energy_vs_word', 'stressed_pitch_vs_word',
  'stressed_duration_z', 'stressed_energy_z', 'stressed_pitch_z', 'stressed_prominence_z', 'stressed_prominence_margin',
  'stressed_is_most_prominent', 'word_duration_vs_median_phone',
] as const;

export const WORD_FEATURES = [
  'phones', 'log_frames', 'npp_mean', 'npp_min', 'npp_max', 'lpr_mean', 'lpr_min', 'lpp_mean', 'lpp_min', 'argmax_share_mean',
  'blank_mean', 'vowel_npp_mean', 'stressed_energy', 'stressed_duration', 'stressed_pitch', 'vowels', 'position',
  'utterance_npp_mean', 'utterance_lpr_mean', 'gap_before', 'gap_after', ...RELATIVE_STRESS_FEATURES,
] as const;

export const UTTERANCE_FEATURES = [
  'duration', 'speech_span', 'leading_silence', 'trailing_silence', 'aligned_span', 'phones', 'words', 'phone_rate',
  'articulation_rate', 'word_rate', 'pauses', 'pause_total', 'pause_max', 'pause_share', 'duration_logstd', 'duration_mean',
  'npp_mean', 'npp_std', 'npp_min', 'npp_p10', 'npp_p25', 'npp_median', 'lpr_mean', 'lpr_std', 'lpr_p10', 'lpp_mean',
  'low_npp_05', 'low_npp_02', 'word_min_npp_mean', 'word_npp_min', 'blank_in_span', 'energy_std', 'energy_range',
  'voiced_share', 'f0_mean', 'f0_std', 'f0_range', 'f0_delta', 'f0_slope', 'viterbi', 'energy_silence_share',
  'vowel_npvi', 'consonant_std', 'vowel_share', 'long_phone_share', 'word_gap_share', 'word_rate_cv', 'final_lengthening',
  'long_pauses',
] as const;

/**
 * Candidate utterance columns, measured and NOT in the heads' input contract: timing and pitch
 * normalised by the utterance itself (issue 13, children's fluency and prosody). Speaker-grouped CV
 * on train/ gave fluency and prosody +.002/+.003 (noise) and completeness -.011, so they stay out;
 * scripts/train/gop-features.ts writes them beside the contract's columns so the measurement can be
 * repeated (scripts/train/stress_cv.py). The server computes them with the rest and ignores them
 * (about 0.0005 of real time; one code path for training and serving).
 */
export const CANDIDATE_UTTERANCE_FEATURES = [
  'median_phone_s', 'pause_total_rel', 'pause_max_rel', 'pause_mean_rel', 'gap_p90_rel', 'phone_duration_iqr_rel',
  'long_phone_rel', 'f0_above_median', 'f0_below_median', 'f0_word_std', 'f0_final_vs_median', 'energy_word_std',
  'vowel_duration_z_range', 'leading_silence_rel',
] as const;

/** Row-major feature matrices for one recogniser. */
export interface GopFeatures {
  phone: Float32Array; // [P, PHONE_FEATURES.length]
  word: Float32Array; // [W, WORD_FEATURES.length]
  utterance: Float32Array; // [UTTERANCE_FEATURES.length]
  /** the candidate columns (CANDIDATE_UTTERANCE_FEATURES), for training measurements only */
  candidates: { utterance: Float32Array };
}

/** What the recogniser-independent part of the features needs, computed once per utterance. */
export interface SignalTrack {
  /** frame energy in dB per 20 ms recogniser frame */
  energy: Float32Array;
  /** F0 in Hz per 20 ms frame, 0 unvoiced */
  f0: Float32Array;
  /** speech span from the energy VAD, in 20 ms frames [start, end) */
  speech: { start: number; end: number; frames: number };
  /** per 20 ms frame, 1 where the energy VAD hears speech (timing and pauses, ./diagnostics.ts) */
  isSpeech: Uint8Array;
}

const mean = (xs: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return xs.length ? s / xs.length : 0;
};
const std = (xs: ArrayLike<number>): number => {
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i]! - m) ** 2;
  return xs.length ? Math.sqrt(s / xs.length) : 0;
};
const quantile = (xs: readonly number[], q: number): number => {
  if (!xs.length) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))]!;
};
const min = (xs: readonly number[]): number => (xs.length ? Math.min(...xs) : 0);
const max = (xs: readonly number[]): number => (xs.length ? Math.max(...xs) : 0);
const semitones = (hz: number): number => 12 * Math.log2(hz / 100);

/** Energy per 20 ms frame, pitch and the energy-VAD speech span (the scorer graph's rule). */
export function signalTrack(samples: Float32Array, energy10: Float32Array, frames: number): SignalTrack {
  const energy = new Float32Array(frames);
  for (let t = 0; t < frames; t++) {
    const a = energy10[Math.min(2 * t, energy10.length - 1)]!;
    const b = energy10[Math.min(2 * t + 1, energy10.length - 1)]!;
    energy[t] = 0.5 * (a + b);
  }
  const smooth = energy.map((_, t) => {
    let s = 0;
    for (let k = -2; k <= 2; k++) s += energy[Math.min(frames - 1, Math.max(0, t + k))]!;
    return s / 5;
  });
  const hi = max([...smooth]);
  const lo = min([...smooth]);
  const threshold = Math.max(lo + 0.35 * (hi - lo), hi - 45);
  let start = -1;
  let end = 0;
  let speechFrames = 0;
  const isSpeech = new Uint8Array(frames);
  smooth.forEach((e, t) => {
    if (e > threshold) {
      isSpeech[t] = 1;
      if (start < 0) start = t;
      end = t + 1;
      speechFrames++;
    }
  });
  return { energy, f0: trackPitch(samples, frames), speech: { start: Math.max(0, start), end: start < 0 ? frames : end, frames: speechFrames }, isSpeech };
}

interface PhoneStats {
  lpp: number;
  lppMax: number;
  lpr: number;
  npp: number;
  nppMax: number;
  nppContext: number;
  argmaxShare: number;
  blank: number;
  entropy: number;
  competitor: number;
  frames: number;
  energy: number;
  f0: number;
  posterior: Float64Array;
  vowel: boolean;
}

/** Evidence for canonical phone `label` (1-based) over its aligned frames. */
function phoneStats(logp: Float32Array, T: number, seg: PhoneSegment, label: number, track: SignalTrack, vowel: boolean): PhoneStats {
  const start = Math.max(0, Math.min(T - 1, seg.start));
  const end = Math.max(start + 1, Math.min(T, seg.end));
  const posterior = new Float64Array(VOCAB - 1);
  let lpp = 0, lppMax = -Infinity, lpr = 0, npp = 0, nppMax = 0, argmaxShare = 0, blank = 0, entropy = 0, energy = 0;
  const f0s: number[] = [];
  for (let t = start; t < end; t++) {
    const row = t * VOCAB;
    const pBlank = Math.exp(logp[row]!);
    const rest = Math.max(1e-6, 1 - pBlank);
    let bestOther = -Infinity;
    let argmax = 1;
    let h = 0;
    for (let v = 1; v < VOCAB; v++) {
      const lp = logp[row + v]!;
      const q = Math.exp(lp) / rest;
      posterior[v - 1] += q;
      if (q > 1e-9) h -= q * Math.log(q);
      if (v !== label && lp > bestOther) bestOther = lp;
      if (lp > logp[row + argmax]!) argmax = v;
    }
    const lc = logp[row + label]!;
    lpp += lc;
    lppMax = Math.max(lppMax, lc);
    lpr += lc - bestOther;
    const q = Math.exp(lc) / rest;
    npp += q;
    nppMax = Math.max(nppMax, q);
    if (argmax === label) argmaxShare++;
    blank += pBlank;
    entropy += h;
    energy += track.energy[t]!;
    if (track.f0[t]! > 0) f0s.push(semitones(track.f0[t]!));
  }
  // the canonical phone's best frame one frame either side of the segment (alignment slack)
  let nppContext = 0;
  for (let t = Math.max(0, start - 1); t < Math.min(T, end + 1); t++) nppContext = Math.max(nppContext, Math.exp(logp[t * VOCAB + label]!));
  const n = end - start;
  for (let v = 0; v < posterior.length; v++) posterior[v]! /= n;
  let competitor = 0;
  posterior.forEach((p, v) => {
    if (v !== label - 1 && p > competitor) competitor = p;
  });
  return {
    lpp: lpp / n, lppMax, lpr: lpr / n, npp: npp / n, nppMax, nppContext, argmaxShare: argmaxShare / n, blank: blank / n,
    entropy: entropy / n, competitor, frames: n, energy: energy / n, f0: f0s.length ? mean(f0s) : NaN, posterior, vowel,
  };
}

function stressClass(phone: string): number {
  const base = stripStress(phone) as Phone;
  const digit = phone.at(-1);
  return !VOWELS.has(base) ? 0 : digit === '0' || digit === '1' || digit === '2' ? 1 + Number(digit) : 4;
}

/** Features of one utterance from one recogniser's log-posteriors [T, VOCAB]. */
/**
 * The features of one recogniser's posteriors. `native`: the native-English model's columns per
 * phone ([P, NATIVE_PHONE_FEATURES.length], src/inference/gop/native.ts, then CONTEXT_PHONE_FEATURES
 * when the bundle has its triphone table, ./native-cd.ts), appended to each phone row when the bundle
 * has that model.
 */
export function gopFeatures(logp: Float32Array, T: number, track: SignalTrack, words: readonly ReferenceWord[], native?: Float32Array): GopFeatures {
  const phones = words.flatMap((w, wi) => w.phones.map((p, j) => ({ symbol: p, id: phoneId(p), word: wi, index: j, of: w.phones.length })));
  const alignment = forcedAlign(logp, T, VOCAB, phones.map((p) => p.id + 1));
  const stats = phones.map((p, i) => phoneStats(logp, T, alignment.segments[i]!, p.id + 1, track, VOWELS.has(stripStress(p.symbol) as Phone)));
  const P = phones.length;
  const W = words.length;
  const logFrames = stats.map((s) => Math.log1p(s.frames));
  const meanLogFrames = mean(logFrames);
  const speechEnergy = mean(stats.map((s) => s.energy));
  const nppAll = stats.map((s) => s.npp);
  const lprAll = stats.map((s) => s.lpr);
  const uttNpp = mean(nppAll);
  const uttLpr = mean(lprAll);
  const wordPhones = words.map((_, wi) => phones.flatMap((p, i) => (p.word === wi ? [i] : [])));
  const wordNpp = wordPhones.map((idx) => idx.map((i) => nppAll[i]!));

  const NF = native ? native.length / Math.max(P, 1) : 0;
  const PF = PHONE_FEATURES.length + NF;
  const phone = new Float32Array(P * PF);
  phones.forEach((p, i) => {
    const s = stats[i]!;
    const row = [
      s.lpp, s.lppMax, s.lpr, s.npp, s.nppMax, s.nppContext, s.argmaxShare, s.blank, s.entropy, s.competitor,
      logFrames[i]!, logFrames[i]! - meanLogFrames, s.energy - speechEnergy, p.id, VOWELS.has(stripStress(p.symbol) as Phone) ? 1 : 0,
      stressClass(p.symbol), p.of === 1 ? 0 : p.index === 0 ? 1 : p.index === p.of - 1 ? 3 : 2, p.of,
      mean(wordNpp[p.word]!), min(wordNpp[p.word]!), uttNpp, uttLpr, i > 0 ? nppAll[i - 1]! : -1, i < P - 1 ? nppAll[i + 1]! : -1,
      ...s.posterior,
    ];
    phone.set(row, i * PF);
    if (native) phone.set(native.subarray(i * NF, (i + 1) * NF), i * PF + PHONE_FEATURES.length);
  });

  const segs = alignment.segments;
  const slots = phoneSlots(stats, segs, track);
  const stress = relativeStress(slots, phones.map((p) => p.symbol), wordPhones, segs);
  const WF = WORD_FEATURES.length;
  const word = new Float32Array(W * WF);
  wordPhones.forEach((idx, wi) => {
    const ss = idx.map((i) => stats[i]!);
    const vowels = idx.filter((i) => VOWELS.has(stripStress(phones[i]!.symbol) as Phone));
    const stressed = vowels.find((i) => phones[i]!.symbol.endsWith('1')) ?? vowels[0];
    const first = idx[0]!;
    const last = idx[idx.length - 1]!;
    const wordF0 = mean(ss.map((s) => s.f0).filter((f) => Number.isFinite(f)));
    const stressedF0 = stressed === undefined ? NaN : stats[stressed]!.f0;
    const row = [
      idx.length, Math.log1p(segs[last]!.end - segs[first]!.start), mean(wordNpp[wi]!), min(wordNpp[wi]!), max(wordNpp[wi]!),
      mean(ss.map((s) => s.lpr)), min(ss.map((s) => s.lpr)), mean(ss.map((s) => s.lpp)), min(ss.map((s) => s.lpp)),
      mean(ss.map((s) => s.argmaxShare)), mean(ss.map((s) => s.blank)), vowels.length ? mean(vowels.map((i) => nppAll[i]!)) : -1,
      stressed === undefined ? 0 : stats[stressed]!.energy - speechEnergy,
      stressed === undefined ? 0 : logFrames[stressed]! - meanLogFrames,
      Number.isFinite(stressedF0) && Number.isFinite(wordF0) ? stressedF0 - wordF0 : 0,
      vowels.length, W > 1 ? wi / (W - 1) : 0, uttNpp, uttLpr,
      wi > 0 ? (segs[first]!.start - segs[wordPhones[wi - 1]!.at(-1)!]!.end) * FRAME_S : 0,
      wi < W - 1 ? (segs[wordPhones[wi + 1]![0]!]!.start - segs[last]!.end) * FRAME_S : 0,
      ...stress[wi]!,
    ];
    word.set(row, wi * WF);
  });

  return {
    phone,
    word,
    utterance: utteranceFeatures(stats, segs, wordPhones, wordNpp, track, T, alignment.viterbi, words.length),
    candidates: { utterance: normalisedTimingAndPitch(slots, segs, wordPhones, track) },
  };
}

/** z-score of v among xs (0 when xs has no spread or v is not a number). */
const zScore = (v: number, xs: readonly number[]): number => {
  const sd = std(xs);
  return Number.isFinite(v) && sd > 1e-6 ? (v - mean(xs)) / sd : 0;
};

/** A phone's slot: what the relative-stress and normalised-timing columns measure a phone over. */
interface Slot {
  frames: number;
  energy: number;
  /** mean semitones over the voiced frames; NaN when none is voiced */
  f0: number;
  vowel: boolean;
}

/** Half the longest slot, in 20 ms frames, either side of a phone's centre (a pause is not the phone's). */
const SLOT_HALF = 8;

/**
 * CTC alignments are peaky: a phone's own frames are mostly one or two, whatever its length, so
 * duration, energy and pitch are measured over its slot instead: from halfway to the previous
 * phone's centre to halfway to the next one's, at most SLOT_HALF frames either side.
 */
function phoneSlots(stats: PhoneStats[], segs: PhoneSegment[], track: SignalTrack): Slot[] {
  const centre = segs.map((g) => (g.start + g.end) / 2);
  const T = track.energy.length;
  return segs.map((g, i) => {
    const lo = Math.max(0, Math.round(Math.max(i > 0 ? (centre[i - 1]! + centre[i]!) / 2 : g.start - 2, centre[i]! - SLOT_HALF)));
    const hi = Math.min(T, Math.round(Math.min(i < segs.length - 1 ? (centre[i]! + centre[i + 1]!) / 2 : g.end + 2, centre[i]! + SLOT_HALF)));
    const from = Math.min(lo, Math.max(0, g.start));
    const to = Math.max(hi, Math.min(T, g.end), from + 1);
    const energies = [...track.energy.subarray(from, to)];
    const f0s = [...track.f0.subarray(from, to)].filter((f) => f > 0).map(semitones);
    return { frames: to - from, energy: mean(energies), f0: f0s.length ? mean(f0s) : NaN, vowel: stats[i]!.vowel };
  });
}

/**
 * Per word: the lexically stressed vowel (the one marked 1; the first vowel when none is) against
 * the word's other vowels (duration, energy, pitch differences) and against the speaker's own range
 * in this utterance (z-scores over the utterance's vowels), so that a loud or slow speaker, a child's
 * high voice, does not read as stress by itself. Prominence = the sum of the three z-scores.
 */
function relativeStress(stats: Slot[], symbols: readonly string[], wordPhones: number[][], segs: PhoneSegment[]): number[][] {
  const F = RELATIVE_STRESS_FEATURES.length;
  const allVowels = stats.flatMap((s, i) => (s.vowel ? [i] : []));
  const dur = (i: number) => Math.log(stats[i]!.frames);
  const durs = allVowels.map(dur);
  const energies = allVowels.map((i) => stats[i]!.energy);
  const pitches = allVowels.map((i) => stats[i]!.f0).filter((f) => Number.isFinite(f));
  const prominence = (i: number) => zScore(dur(i), durs) + zScore(stats[i]!.energy, energies) + zScore(stats[i]!.f0, pitches);
  const medianPhone = quantile(stats.map((s) => s.frames), 0.5);
  return wordPhones.map((idx) => {
    const vowels = idx.filter((i) => stats[i]!.vowel);
    const marked = vowels.find((i) => symbols[i]!.endsWith('1'));
    const stressed = marked ?? vowels[0];
    const others = vowels.filter((i) => i !== stressed);
    const span = segs[idx.at(-1)!]!.end - segs[idx[0]!]!.start;
    const row = new Array<number>(F).fill(0);
    row[0] = marked !== undefined && vowels.length > 1 ? 1 : 0;
    row[10] = Math.log(Math.max(1, span) / Math.max(1, medianPhone * idx.length));
    if (stressed !== undefined) {
      const s = stats[stressed]!;
      const otherPitch = others.map((i) => stats[i]!.f0).filter((f) => Number.isFinite(f));
      row[1] = others.length ? dur(stressed) - mean(others.map(dur)) : 0;
      row[2] = others.length ? s.energy - mean(others.map((i) => stats[i]!.energy)) : 0;
      row[3] = Number.isFinite(s.f0) && otherPitch.length ? s.f0 - mean(otherPitch) : 0;
      row[4] = zScore(dur(stressed), durs);
      row[5] = zScore(s.energy, energies);
      row[6] = zScore(s.f0, pitches);
      row[7] = prominence(stressed);
      const best = others.length ? max(others.map(prominence)) : row[7];
      row[8] = others.length ? row[7] - best : 0;
      row[9] = others.length ? (row[7] >= best ? 1 : 0) : 1;
    }
    return row;
  });
}

/**
 * Timing and pitch measured against the utterance itself: pauses in units of its own median phone
 * duration (a slow child and a fast adult pausing "a phone's length" read alike), the spread of phone
 * durations the same way, and pitch in semitones around the utterance's median (register removed).
 */
function normalisedTimingAndPitch(stats: Slot[], segs: PhoneSegment[], wordPhones: number[][], track: SignalTrack): Float32Array {
  const frames = stats.map((s) => s.frames);
  const med = Math.max(1, quantile(frames, 0.5));
  const gaps = wordPhones.slice(1).map((idx, k) => Math.max(0, segs[idx[0]!]!.start - segs[wordPhones[k]!.at(-1)!]!.end));
  const pauses = gaps.filter((g) => g >= PAUSE_FRAMES);
  const voicedSt = [...track.f0].filter((f, t) => f > 0 && t >= segs[0]!.start && t < segs.at(-1)!.end).map(semitones);
  const f0Median = quantile(voicedSt, 0.5);
  // per word with any voiced phone, its mean pitch relative to the utterance's median
  const pitched = wordPhones
    .map((idx) => idx.map((i) => stats[i]!.f0).filter((f) => Number.isFinite(f)))
    .filter((f0s) => f0s.length)
    .map((f0s) => mean(f0s) - f0Median);
  const wordEnergy = wordPhones.map((idx) => mean(idx.map((i) => stats[i]!.energy)));
  const vowelDur = stats.filter((s) => s.vowel).map((s) => Math.log(s.frames));
  const vowelSd = std(vowelDur);
  return Float32Array.from([
    med * FRAME_S,
    pauses.reduce((a, b) => a + b, 0) / med,
    max(pauses) / med,
    pauses.length ? mean(pauses) / med : 0,
    quantile(gaps, 0.9) / med,
    (quantile(frames, 0.75) - quantile(frames, 0.25)) / med,
    max(frames) / med,
    voicedSt.length ? quantile(voicedSt, 0.9) - f0Median : 0,
    voicedSt.length ? f0Median - quantile(voicedSt, 0.1) : 0,
    std(pitched),
    pitched.length ? pitched.at(-1)! : 0,
    std(wordEnergy),
    vowelSd > 1e-6 ? (max(vowelDur) - min(vowelDur)) / vowelSd : 0,
    segs[0]!.start / med,
  ]);
}

function utteranceFeatures(
  stats: PhoneStats[],
  segs: PhoneSegment[],
  wordPhones: number[][],
  wordNpp: number[][],
  track: SignalTrack,
  T: number,
  viterbi: boolean,
  W: number,
): Float32Array {
  const P = stats.length;
  const alignedStart = segs[0]!.start;
  const alignedEnd = segs[P - 1]!.end;
  const alignedSpan = Math.max(1, alignedEnd - alignedStart) * FRAME_S;
  const phoneFrames = stats.reduce((n, s) => n + s.frames, 0);
  const gaps = wordPhones.slice(1).map((idx, k) => segs[idx[0]!]!.start - segs[wordPhones[k]!.at(-1)!]!.end);
  const pauses = gaps.filter((g) => g >= PAUSE_FRAMES);
  const logFrames = stats.map((s) => Math.log(s.frames));
  const npp = stats.map((s) => s.npp);
  const lpr = stats.map((s) => s.lpr);
  const speechSpan = Math.max(1, track.speech.end - track.speech.start);
  const inSpan = [...track.energy.subarray(track.speech.start, track.speech.end)];
  const voiced = [...track.f0].map((f, t) => ({ f, t })).filter((v) => v.f > 0 && v.t >= alignedStart && v.t < alignedEnd);
  const st = voiced.map((v) => semitones(v.f));
  const deltas = voiced.slice(1).flatMap((v, k) => (v.t === voiced[k]!.t + 1 ? [Math.abs(semitones(v.f) - st[k]!)] : []));
  const slope = (() => {
    if (voiced.length < 2) return 0;
    const ts = voiced.map((v) => v.t * FRAME_S);
    const mt = mean(ts);
    const ms = mean(st);
    let num = 0, den = 0;
    ts.forEach((t, k) => {
      num += (t - mt) * (st[k]! - ms);
      den += (t - mt) ** 2;
    });
    return den > 0 ? num / den : 0;
  })();
  const wordMins = wordNpp.map((xs) => min(xs));
  const row = [
    T * FRAME_S, speechSpan * FRAME_S, track.speech.start * FRAME_S, (T - track.speech.end) * FRAME_S, alignedSpan, P, W,
    P / alignedSpan, P / Math.max(FRAME_S, phoneFrames * FRAME_S), W / alignedSpan,
    pauses.length, pauses.reduce((a, b) => a + b, 0) * FRAME_S, max(pauses) * FRAME_S, (pauses.reduce((a, b) => a + b, 0) * FRAME_S) / alignedSpan,
    std(logFrames), mean(stats.map((s) => s.frames)) * FRAME_S,
    mean(npp), std(npp), min(npp), quantile(npp, 0.1), quantile(npp, 0.25), quantile(npp, 0.5),
    mean(lpr), std(lpr), quantile(lpr, 0.1), mean(stats.map((s) => s.lpp)),
    npp.filter((v) => v < 0.5).length / P, npp.filter((v) => v < 0.2).length / P, mean(wordMins), min(wordMins),
    1 - (phoneFrames * FRAME_S) / alignedSpan, std(inSpan), quantile(inSpan, 0.95) - quantile(inSpan, 0.05),
    voiced.length / Math.max(1, alignedEnd - alignedStart), st.length ? mean(st) : 0, std(st), st.length ? quantile(st, 0.9) - quantile(st, 0.1) : 0,
    deltas.length ? mean(deltas) : 0, slope, viterbi ? 1 : 0, 1 - track.speech.frames / speechSpan,
    ...rhythm(stats, segs, wordPhones, gaps),
  ];
  return Float32Array.from(row);
}

/**
 * Rhythm and hesitation: vowel nPVI, consonant-duration spread, vowel share of phone time,
 * elongated phones, silences inside words, variation of the speaking rate across words, final
 * lengthening, pauses of half a second or more.
 */
function rhythm(stats: PhoneStats[], segs: PhoneSegment[], wordPhones: number[][], gaps: number[]): number[] {
  const vowels = stats.filter((s) => s.vowel).map((s) => s.frames);
  const consonants = stats.filter((s) => !s.vowel).map((s) => s.frames * FRAME_S);
  const npvi = vowels.length > 1 ? 100 * mean(vowels.slice(1).map((d, k) => Math.abs(d - vowels[k]!) / ((d + vowels[k]!) / 2))) : 0;
  const frames = stats.map((s) => s.frames);
  const total = frames.reduce((a, b) => a + b, 0);
  const median = quantile(frames, 0.5);
  const perPhone = wordPhones.map((idx) => (segs[idx.at(-1)!]!.end - segs[idx[0]!]!.start) / idx.length);
  let inside = 0;
  for (const idx of wordPhones) for (let j = 1; j < idx.length; j++) inside += Math.max(0, segs[idx[j]!]!.start - segs[idx[j - 1]!]!.end);
  const span = Math.max(1, segs.at(-1)!.end - segs[0]!.start);
  const meanPerPhone = mean(perPhone);
  return [
    npvi,
    std(consonants),
    vowels.reduce((a, b) => a + b, 0) / Math.max(1, total),
    frames.filter((f) => f > 2.5 * median).length / frames.length,
    inside / span,
    meanPerPhone > 0 ? std(perPhone) / meanPerPhone : 0,
    meanPerPhone > 0 ? perPhone.at(-1)! / meanPerPhone : 1,
    gaps.filter((g) => g >= 25).length,
  ];
}

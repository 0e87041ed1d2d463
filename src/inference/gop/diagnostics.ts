/**
 * Timing and miscues (issue 11) from the recognisers' posteriors: when each word and phone was
 * said, pauses between words, extra speech no reference word accounts for, and per phone what the
 * recogniser heard instead. Outputs beside the scores, never inputs to them: the heads do not see
 * anything computed here.
 *
 * The K recognisers' posteriors are averaged per frame and the canonical phones force-aligned once
 * on the average (align.ts). CTC puts each phone on a short spike with blanks around it, so a
 * spike's frames are not the phone's extent: boundaries inside a word fall midway between spikes,
 * and between words the frames the energy VAD hears as speech stay with the word they touch, the
 * rest is silence (a pause when long enough). Evidence for a phone is its peak posterior over its
 * frames and one frame either side (alignment slack); the decision thresholds come from the bundle
 * (diagnostics.json beside the model), chosen on train/ speaker folds (scripts/train/diagnostics.ts).
 */
import { PHONES, phoneId } from '../../text/phones.js';
import type { Diagnostics, Insertion, Pause, PhonemeDiagnosis, ReferenceWord, WordDiagnosis } from '../../types.js';
import { forcedAlign } from './align.js';
import { VOCAB, type SignalTrack } from './features.js';

/**
 * Recogniser frames are 20 ms. The graph's STFT frames (25 ms windows, 10 ms hop, no padding) are
 * centred at 10 i + 12.5 ms, and the stride-2 convolution (kernel 5, padding 2) centres frame j on
 * STFT frame 2 j: frame j spans [20 j + 2.5, 20 j + 22.5) ms of the recording as uploaded (the
 * model sees the whole decoded recording, nothing is trimmed before it).
 */
const FRAME_MS = 20;
const OFFSET_MS = 2.5;
/** How far (frames) speech-energy frames around a word's first and last spike still count as the word. */
const EDGE_FRAMES = 8;
/** A frame heard as a phone (not blank) in a gap needs at least this posterior to count as speech. */
const HEARD_POSTERIOR = 0.5;

export interface DiagnosticThresholds {
  /** A canonical phone whose evidence (peak posterior) is below this is an error: deleted or substituted. */
  phoneError: number;
  /** A word whose mean phone evidence is below `omission` ... */
  omission: number;
  /** ... and whose phones' spikes span fewer frames per phone than this is OMITTED (squeezed in, as a skipped word is). */
  omissionFramesPerPhone: number;
  /** Extra speech: at least this many distinct phones heard in a stretch between words ... */
  insertionPhones: number;
  /** ... spanning at least this many ms. */
  insertionMs: number;
  /** A silence between two words at least this long is reported as a pause. */
  pauseMs: number;
}

/** Used when a bundle has no diagnostics.json; models/default ships its own, chosen on train/. */
export const DEFAULT_THRESHOLDS: DiagnosticThresholds = {
  phoneError: 0.01, omission: 0.005, omissionFramesPerPhone: 1000, insertionPhones: 2, insertionMs: 120, pauseMs: 200,
};

/** Per canonical phone: its evidence and the strongest other phone's. */
export interface PhoneEvidence {
  /** peak posterior of the canonical phone over its frames ± 1 */
  canonical: number;
  /**
   * the strongest other phone (index into PHONES) and its peak posterior over the phone's own
   * frames only: the frame on either side holds the neighbouring phones' spikes, which would
   * otherwise be reported as what was said instead ("/θ/ in THINK sounded like /ɪ/")
   */
  best: number;
  bestPhone: number;
}

/** What the thresholds are applied to (the training script caches this per utterance). */
export interface Evidence {
  phones: PhoneEvidence[];
  /** per word, the mean of its phones' canonical evidence */
  words: number[];
  /** per word, the frames from its first phone's spike to its last phone's, per phone */
  wordFramesPerPhone: number[];
  /** per canonical phone, its span in (fractional) frames [start, end) after boundary refinement */
  spans: { start: number; end: number }[];
  /** blank runs between words (and before the first / after the last) with their silence part */
  gaps: Gap[];
  frames: number;
}

interface Gap {
  /** the word before (-1: before the first word) */
  after: number;
  /** the raw blank run between the two spikes, frames [from, to) */
  from: number;
  to: number;
  /** its silent middle [silenceFrom, silenceTo); empty when the words touch */
  silenceFrom: number;
  silenceTo: number;
  /** what the recogniser heard inside the run (one frame of slack kept clear on each side) */
  heard: Heard;
}

interface Heard {
  phones: string[];
  /** frames of the first and last heard phone (-1 when none) */
  first: number;
  last: number;
}

/** Mean of the K recognisers' posteriors, [T, VOCAB] probabilities. */
export function meanPosteriors(logps: readonly Float32Array[], T: number): Float32Array {
  const out = new Float32Array(T * VOCAB);
  for (const lp of logps) for (let i = 0; i < out.length; i++) out[i]! += Math.exp(lp[i]!) / logps.length;
  return out;
}

export function phoneEvidence(post: Float32Array, T: number, seg: { start: number; end: number }, label: number): PhoneEvidence {
  let canonical = 0;
  let best = 0;
  let bestPhone = label - 1;
  for (let t = Math.max(0, seg.start - 1); t < Math.min(T, seg.end + 1); t++) {
    const row = t * VOCAB;
    canonical = Math.max(canonical, post[row + label]!);
    if (t < seg.start || t >= seg.end) continue;
    for (let v = 1; v < VOCAB; v++) {
      if (v !== label && post[row + v]! > best) {
        best = post[row + v]!;
        bestPhone = v - 1;
      }
    }
  }
  return { canonical, best, bestPhone };
}

/** Forced alignment on the mean posteriors, evidence per phone and word, refined spans and gaps. */
export function diagnosticEvidence(logps: readonly Float32Array[], T: number, track: SignalTrack, words: readonly ReferenceWord[]): Evidence {
  const phones = words.flatMap((w, wi) => w.phones.map((p) => ({ label: phoneId(p) + 1, word: wi })));
  const post = meanPosteriors(logps, T);
  const logPost = post.map((p) => Math.log(Math.max(p, 1e-12)));
  const segs = forcedAlign(logPost, T, VOCAB, phones.map((p) => p.label)).segments;
  const evidence = phones.map((p, i) => phoneEvidence(post, T, segs[i]!, p.label));
  const wordEvidence = words.map((_, wi) => {
    const xs = evidence.filter((_, i) => phones[i]!.word === wi).map((e) => e.canonical);
    return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  });
  const wordFramesPerPhone = words.map((w, wi) => {
    const idx = phones.flatMap((p, i) => (p.word === wi ? [i] : []));
    return (segs[idx.at(-1)!]!.end - segs[idx[0]!]!.start) / idx.length;
  });
  const speech = (t: number) => t >= 0 && t < T && track.isSpeech[t] === 1;
  const spans = segs.map((s) => ({ start: s.start, end: s.end }));
  const gaps: Gap[] = [];
  // before the first word: speech frames just before its first spike are the word's onset
  let onset = spans[0]!.start;
  while (onset > 0 && spans[0]!.start - onset < EDGE_FRAMES && speech(onset - 1)) onset--;
  gaps.push({ after: -1, from: 0, to: spans[0]!.start, silenceFrom: 0, silenceTo: onset, heard: heardPhones(post, 0, spans[0]!.start - 1) });
  spans[0]!.start = onset;
  for (let i = 0; i + 1 < spans.length; i++) {
    const a = segs[i]!.end;
    const b = segs[i + 1]!.start;
    if (phones[i]!.word === phones[i + 1]!.word) {
      spans[i]!.end = spans[i + 1]!.start = (a + b) / 2;
      continue;
    }
    let tail = a;
    while (tail < b && tail - a < EDGE_FRAMES && speech(tail)) tail++;
    let head = b;
    while (head > tail && b - head < EDGE_FRAMES && speech(head - 1)) head--;
    if (head > tail) {
      spans[i]!.end = tail;
      spans[i + 1]!.start = head;
    } else {
      spans[i]!.end = spans[i + 1]!.start = (a + b) / 2;
    }
    gaps.push({ after: phones[i]!.word, from: a, to: b, silenceFrom: Math.min(tail, head), silenceTo: head, heard: heardPhones(post, a + 1, b - 1) });
  }
  const last = spans.length - 1;
  let offset = segs[last]!.end;
  while (offset < T && offset - segs[last]!.end < EDGE_FRAMES && speech(offset)) offset++;
  gaps.push({ after: words.length - 1, from: segs[last]!.end, to: T, silenceFrom: offset, silenceTo: T, heard: heardPhones(post, segs[last]!.end + 1, T) });
  spans[last]!.end = offset;
  return { phones: evidence, words: wordEvidence, wordFramesPerPhone, spans, gaps, frames: T };
}

const toMs = (frame: number, durationMs: number): number => Math.min(durationMs, Math.max(0, Math.round(frame * FRAME_MS + OFFSET_MS)));
const round2 = (v: number): number => Math.round(v * 100) / 100;

/** Phones heard (not blank, posterior ≥ HEARD_POSTERIOR) in frames [from, to), repeats collapsed. */
function heardPhones(post: Float32Array, from: number, to: number): Heard {
  const phones: string[] = [];
  let first = -1;
  let last = -1;
  let previous = 0;
  for (let t = from; t < to; t++) {
    let arg = 0;
    for (let v = 1; v < VOCAB; v++) if (post[t * VOCAB + v]! > post[t * VOCAB + arg]!) arg = v;
    if (arg !== 0 && post[t * VOCAB + arg]! >= HEARD_POSTERIOR) {
      if (arg !== previous) phones.push(PHONES[arg - 1]!);
      if (first < 0) first = t;
      last = t;
    }
    previous = arg;
  }
  return { phones, first, last };
}

/** Extra speech in a gap between two words' spikes, or before the first or after the last. */
function insertionIn(gap: Gap, th: DiagnosticThresholds, durationMs: number): Insertion | null {
  const heard = gap.heard;
  if (heard.phones.length < th.insertionPhones || (heard.last + 1 - heard.first) * FRAME_MS < th.insertionMs) return null;
  return {
    afterWordIndex: gap.after < 0 ? null : gap.after,
    startMs: toMs(heard.first, durationMs),
    endMs: toMs(heard.last + 1, durationMs),
    phones: heard.phones,
  };
}

export function isOmitted(ev: Evidence, word: number, th: DiagnosticThresholds): boolean {
  return ev.words[word]! < th.omission && ev.wordFramesPerPhone[word]! < th.omissionFramesPerPhone;
}

/** Apply the thresholds: per-word error type, per-phone marks, pauses and insertions, in ms. */
export function diagnose(ev: Evidence, words: readonly ReferenceWord[], th: DiagnosticThresholds, durationMs: number): Diagnostics {
  let k = 0;
  const out: WordDiagnosis[] = words.map((w, wi) => {
    const omitted = isOmitted(ev, wi, th);
    const phonemes: PhonemeDiagnosis[] = w.phones.map((symbol) => {
      const e = ev.phones[k]!;
      const span = ev.spans[k++]!;
      const error = omitted || e.canonical < th.phoneError;
      // Another sound counts as heard on the evidence that makes the expected one count as heard
      // (phoneError); below it nothing was heard there: a deletion.
      const substituted = error && !omitted && e.best > e.canonical && e.best >= th.phoneError;
      const deleted = error && !substituted;
      return {
        startMs: toMs(span.start, durationMs),
        endMs: toMs(span.end, durationMs),
        produced: deleted ? null : PHONES[substituted ? e.bestPhone : phoneId(symbol)]!,
        producedConfidence: deleted ? null : round2(substituted ? e.best : e.canonical),
        deleted,
        substituted,
      };
    });
    const errorType = omitted ? 'OMITTED' : phonemes.some((p) => p.deleted || p.substituted) ? 'MISPRONOUNCED' : 'NONE';
    return { startMs: phonemes[0]!.startMs, endMs: phonemes.at(-1)!.endMs, errorType, phonemes };
  });
  const pauses: Pause[] = ev.gaps
    .filter((g) => g.after >= 0 && g.after < words.length - 1 && (g.silenceTo - g.silenceFrom) * FRAME_MS >= th.pauseMs)
    .map((g) => ({ afterWordIndex: g.after, startMs: toMs(g.silenceFrom, durationMs), endMs: toMs(g.silenceTo, durationMs) }));
  const insertions = ev.gaps.flatMap((g) => {
    const found = insertionIn(g, th, durationMs);
    return found ? [found] : [];
  });
  return { words: out, pauses, insertions };
}

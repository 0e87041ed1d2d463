/**
 * A deterministic, plausible assessment history (issue 9's seed data): learners in groups, each
 * with a score trajectory (improving, flat or declining over the months they practise) and sound
 * weaknesses (their group's and their own: those phonemes score consistently low), reading the
 * seed sentences; MODEL assessments by the model version current at the time, occasional
 * re-assessments by a newer version, and a few HUMAN labels.
 *
 * Everything comes from one seed: ids, times and scores are the same on every run and database.
 * Each learner has its own random stream, so a learner's history does not depend on batch sizes.
 */
import { analyzeReferenceText } from '../text/reference.js';
import { stripStress } from '../text/phones.js';
import type { AssessmentLabels, ReferenceWord, WordScore } from '../types.js';
import { SEED_SENTENCES } from './sentences.js';

export type Trajectory = 'improving' | 'flat' | 'declining';

export interface SeedOptions {
  learners: number;
  utterances: number;
  groups: number;
  seed: number;
  /** Months of history, ending at `end`. */
  months: number;
  end: Date;
}

/** Model versions in the order they went live, with the fraction of the history at which each did. */
export const SEED_MODEL_VERSIONS = [
  { version: '2025.1.0', from: 0, accuracyBias: -0.4 },
  { version: '2025.2.0', from: 0.35, accuracyBias: 0 },
  { version: '2025.3.0', from: 0.7, accuracyBias: 0.2 },
] as const;
export const SEED_MODEL_NAME = 'speechmark-gop';
/** No audio exists for seeded utterances: this digest (sha256 of the text below) and format mark them. */
export const SEED_AUDIO_FORMAT = 'seed-placeholder';
export const SEED_AUDIO_SHA256 = 'b1f5c0b6e8d4b1d3f0b7f4c2a9e6d3b0c7a4e1f8d5b2c9f6a3e0d7b4c1f8e5d2'; // placeholder, not a real file

/** Phonemes (stress stripped) that learners of a language background commonly find hard. */
const HARD_PHONEMES = ['TH', 'DH', 'R', 'L', 'V', 'W', 'Z', 'ZH', 'AE', 'IH', 'UH', 'NG', 'SH', 'JH', 'ER', 'V'];

/**
 * sfc32 (128-bit state), its state filled from up to four 32-bit words: distinct words give distinct
 * streams that do not overlap in practice (a 32-bit-state generator's streams would: colliding ids
 * and correlated learners at 200,000 utterances).
 */
export function rng(...words: number[]): () => number {
  let [a, b, c, d] = [words[0] ?? 0, words[1] ?? 0x9e3779b9, words[2] ?? 0x243f6a88, words[3] ?? 0xb7e15162].map((w) => w >>> 0) as [number, number, number, number];
  const next = () => {
    const t0 = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    const t = (t0 + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 20; i++) next();
  return next;
}

/** A version-4-shaped UUID from the stream (deterministic). */
export function uuidFrom(r: () => number): string {
  const hex = (n: number) => Math.floor(r() * 2 ** 32).toString(16).padStart(8, '0').slice(0, n);
  const a = hex(8);
  const b = hex(8);
  const c = hex(8);
  const d = hex(8);
  const variant = '89ab'[Math.floor(r() * 4)]!;
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${variant}${c.slice(1, 4)}-${c.slice(4, 8)}${d}`;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const noise = (r: () => number, amplitude: number) => (r() * 2 - 1) * amplitude;

export interface SeedGroup {
  id: string;
  weakPhonemes: string[];
}

export interface SeedAssessment {
  id: string;
  jobId: string | null;
  source: 'MODEL' | 'HUMAN';
  modelVersion: string | null;
  rater: string | null;
  createdAt: Date;
  labels: AssessmentLabels;
}

export interface SeedUtterance {
  id: string;
  referenceText: string;
  referenceWords: ReferenceWord[];
  durationMs: number;
  createdAt: Date;
  assessments: SeedAssessment[];
}

export interface SeedLearner {
  index: number;
  id: string;
  externalId: string;
  displayName: string;
  groups: string[];
  trajectory: Trajectory;
  weakPhonemes: string[];
  createdAt: Date;
  utteranceCount: number;
}

const sentences = SEED_SENTENCES.map((text) => ({ text, words: analyzeReferenceText(text) }));

export function seedGroups(o: SeedOptions): SeedGroup[] {
  const r = rng(o.seed, 0x67726f75);
  return Array.from({ length: o.groups }, (_, i) => {
    const first = HARD_PHONEMES[Math.floor(r() * HARD_PHONEMES.length)]!;
    let second = HARD_PHONEMES[Math.floor(r() * HARD_PHONEMES.length)]!;
    if (second === first) second = HARD_PHONEMES[(HARD_PHONEMES.indexOf(first) + 3) % HARD_PHONEMES.length]!;
    return { id: `group-${String(i + 1).padStart(3, '0')}`, weakPhonemes: r() < 0.5 ? [first] : [first, second] };
  });
}

/** Utterances per learner: skewed (a few practise a lot), every learner at least one, summing to the total. */
export function utteranceCounts(o: SeedOptions): number[] {
  const r = rng(o.seed, 0x636f756e);
  const weights = Array.from({ length: o.learners }, () => Math.exp(r() * 2.5));
  const sum = weights.reduce((a, b) => a + b, 0);
  const spare = Math.max(0, o.utterances - o.learners);
  const base = Math.min(1, o.utterances / Math.max(1, o.learners));
  const counts = weights.map((w) => (base >= 1 ? 1 : 0) + Math.floor((spare * w) / sum));
  let left = o.utterances - counts.reduce((a, b) => a + b, 0);
  for (let i = 0; left > 0; i = (i + 1) % counts.length, left--) counts[i]!++;
  return counts;
}

export function seedLearner(o: SeedOptions, index: number, count: number, groups: SeedGroup[]): SeedLearner & { r: () => number } {
  const r = rng(o.seed, 0x6c6561, index);
  const id = uuidFrom(r);
  const roll = r();
  const trajectory: Trajectory = roll < 0.4 ? 'improving' : roll < 0.75 ? 'flat' : 'declining';
  const mine = groups.length ? [groups[index % groups.length]!] : [];
  if (groups.length > 1 && r() < 0.3) {
    const other = groups[Math.floor(r() * groups.length)]!;
    if (other !== mine[0]) mine.push(other);
  }
  const own = HARD_PHONEMES[Math.floor(r() * HARD_PHONEMES.length)]!;
  const weakPhonemes = [...new Set([...mine.flatMap((g) => g.weakPhonemes), own])];
  const historyMs = o.months * 30 * 86_400_000;
  const start = o.end.getTime() - historyMs + r() * historyMs * 0.5;
  const externalId = `learner-${String(index + 1).padStart(5, '0')}`;
  return {
    index,
    id,
    externalId,
    displayName: `Seed learner ${index + 1} (${trajectory})`,
    groups: mine.map((g) => g.id),
    trajectory,
    weakPhonemes,
    createdAt: new Date(Math.floor(start)),
    utteranceCount: count,
    r,
  };
}

function versionAt(fraction: number) {
  let current: (typeof SEED_MODEL_VERSIONS)[number] = SEED_MODEL_VERSIONS[0];
  for (const v of SEED_MODEL_VERSIONS) if (fraction >= v.from) current = v;
  return current;
}

/** Scores of one reading at ability `a` (0-10) by a model with `bias`; weak phonemes score low. */
function label(r: () => number, words: ReferenceWord[], a: number, weak: Set<string>, bias: number): AssessmentLabels {
  const phoneMean = clamp(0.3 + a * 0.17, 0, 2);
  const scored: WordScore[] = words.map((w) => {
    const phonemes = w.phones.map((symbol) => {
      const penalty = weak.has(stripStress(symbol)) ? 0.8 + r() * 0.4 : 0;
      return { symbol, accuracy: Math.round(clamp(phoneMean - penalty + noise(r, 0.35), 0, 2) * 10) / 10 };
    });
    const mean = phonemes.reduce((s, p) => s + p.accuracy, 0) / Math.max(1, phonemes.length);
    const accuracy = Math.round(clamp((mean / 2) * 10 + bias + noise(r, 0.8), 0, 10));
    const stress: 5 | 10 = r() < 0.92 ? 10 : 5;
    const total = Math.round(clamp(accuracy * 0.85 + stress * 0.15, 0, 10));
    return { text: w.text, accuracy, stress, total, phonemes };
  });
  const wordMean = scored.reduce((s, w) => s + w.accuracy, 0) / scored.length;
  const accuracy = Math.round(clamp(wordMean + noise(r, 0.5), 0, 10));
  const fluency = Math.round(clamp(a + 0.4 + noise(r, 1.2), 0, 10));
  const prosody = Math.round(clamp(fluency - 0.3 + noise(r, 0.9), 0, 10));
  const completeness = r() < 0.94 ? 10 : 8 + Math.floor(r() * 2);
  const total = Math.round(clamp(accuracy * 0.5 + fluency * 0.25 + prosody * 0.25, 0, 10));
  return { sentence: { accuracy, fluency, prosody, completeness, total }, words: scored };
}

/** A learner's utterances, oldest first, with their assessments. */
export function seedUtterances(o: SeedOptions, learner: SeedLearner & { r: () => number }): SeedUtterance[] {
  const { r } = learner;
  const historyStart = o.end.getTime() - o.months * 30 * 86_400_000;
  const span = o.end.getTime() - learner.createdAt.getTime();
  const active = span * (0.5 + r() * 0.5);
  const times = Array.from({ length: learner.utteranceCount }, () => learner.createdAt.getTime() + 60_000 + r() * (active - 60_000)).sort((a, b) => a - b);
  let a0: number;
  let slope: number;
  if (learner.trajectory === 'improving') [a0, slope] = [3.5 + r() * 2.5, 2 + r() * 1.5];
  else if (learner.trajectory === 'declining') [a0, slope] = [6 + r() * 2, -(2 + r() * 1)];
  else [a0, slope] = [4 + r() * 4, noise(r, 0.3)];
  const weak = new Set(learner.weakPhonemes);
  const first = times[0] ?? 0;
  const last = times.at(-1) ?? first;
  return times.map((t) => {
    const s = sentences[Math.floor(r() * sentences.length)]!;
    const progress = last > first ? (t - first) / (last - first) : 0;
    const ability = clamp(a0 + slope * progress + noise(r, 0.8), 0, 10);
    const createdAt = new Date(Math.floor(t));
    const assessments: SeedAssessment[] = [];
    const version = versionAt((t - historyStart) / (o.end.getTime() - historyStart));
    const model = (at: Date, v: (typeof SEED_MODEL_VERSIONS)[number]): SeedAssessment => ({
      id: uuidFrom(r),
      jobId: uuidFrom(r),
      source: 'MODEL',
      modelVersion: v.version,
      rater: null,
      createdAt: at,
      labels: label(r, s.words, ability, weak, v.accuracyBias),
    });
    assessments.push(model(new Date(createdAt.getTime() + 1500 + Math.floor(r() * 3000)), version));
    // Occasional re-assessment by a newer version, some days later (still before `end`).
    const newer = SEED_MODEL_VERSIONS.filter((v) => v.from > version.from);
    if (newer.length && r() < 0.04) {
      const v = newer[Math.floor(r() * newer.length)]!;
      const liveAt = historyStart + v.from * (o.end.getTime() - historyStart);
      const at = Math.max(liveAt, createdAt.getTime() + 86_400_000) + r() * 5 * 86_400_000;
      if (at < o.end.getTime()) assessments.push(model(new Date(Math.floor(at)), v));
    }
    if (r() < 0.01) {
      const human = label(r, s.words, ability, weak, 0);
      assessments.push({
        id: uuidFrom(r),
        jobId: null,
        source: 'HUMAN',
        modelVersion: null,
        rater: `rater-${1 + Math.floor(r() * 3)}`,
        createdAt: new Date(Math.min(o.end.getTime() - 1, createdAt.getTime() + 2 * 86_400_000 + Math.floor(r() * 86_400_000))),
        labels: human,
      });
    }
    return {
      id: uuidFrom(r),
      referenceText: s.text,
      referenceWords: s.words,
      durationMs: 1200 + s.words.length * 380 + Math.floor(r() * 900),
      createdAt,
      assessments,
    };
  });
}

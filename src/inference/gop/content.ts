/**
 * Content match: does the speech say the reference text at all, or another sentence?
 *
 * Evidence from one recogniser's log-posteriors, all normalised by length so short and long
 * sentences compare:
 * - how much worse the forced alignment of the canonical phones scores than the recogniser's own
 *   best path (the frame-wise best label, which bounds every path from above);
 * - the phone error rate of the greedy decoding against the canonical phones;
 * - the share of canonical phones that the recogniser barely hears anywhere near their segment;
 * - (for models that name it) the recording's own yardstick: the canonical phones in their order
 *   against shuffles of them.
 * A wrong sentence forces the alignment through phones the audio does not contain, so the first
 * three grow and the yardstick shrinks (its order fits no better than a shuffle); a weak but honest
 * reading makes the first three grow too, but keeps its order's advantage. (On train/ folds the
 * yardstick helped; on dev/ it did not: scripts/train/README.md, so the shipped model leaves it out.
 * Nor does it name the native-English model's evidence, NATIVE_CONTENT_FEATURES: no better on train/
 * folds.) A small logistic model (coefficients in the bundle's manifest, `contentMatch`, trained by
 * scripts/train/content-match.ts on train/ speaker folds) turns them into a 0-1 score.
 */
import { forcedAlign } from './align.js';

/**
 * Evidence from the native-English model (./native.ts, nativeContentFeatures): how much worse the
 * reference's forced alignment scores than free phone recognition over the same frames, how far
 * the recognised phones are from the reference's, and how weakly the reference's sounds are heard
 * where the alignment puts them. A model of native speech never trained on our learners is a
 * witness independent of our recognisers.
 */
export const NATIVE_CONTENT_FEATURES = [
  'native_gap_per_frame', 'native_gap_per_phone', 'native_gap_per_speech_frame', 'native_loop_per', 'native_lpp_mean', 'native_low_npp_share',
] as const;
export type NativeContentFeature = (typeof NATIVE_CONTENT_FEATURES)[number];

/** Every feature this build computes; a manifest's model names a subset of them. */
export const CONTENT_FEATURES = [
  'gap_per_frame', 'gap_per_phone', 'gap_per_speech_frame', 'greedy_per', 'low_posterior_01', 'low_posterior_05', 'greedy_length_ratio',
  'gap_per_sqrt_phone', 'frame_confidence', 'log_phones', 'speech_frames_per_phone', 'shuffle_margin_per_phone', 'shuffle_z',
  ...NATIVE_CONTENT_FEATURES,
] as const;

/** Shuffled copies of the reference phones aligned as impostors (shuffleMargin). */
const SHUFFLES = 8;
export type ContentFeature = (typeof CONTENT_FEATURES)[number];

/**
 * @param logp [T, V] row-major log-posteriors, blank at index 0
 * @param labels canonical phone ids, 1-based in the posterior's vocabulary
 * @param needed the features a model uses: the shuffle yardstick (SHUFFLES more alignments) is
 *   computed only when it names one of them (0 otherwise); all when omitted (training dumps)
 * @param native the native model's evidence on this recording and text (./native.ts,
 *   nativeContentFeatures), when the bundle has that model
 */
export function contentFeatures(
  logp: Float32Array, T: number, V: number, labels: readonly number[], needed: readonly ContentFeature[] = CONTENT_FEATURES,
  native?: Record<NativeContentFeature, number>,
): Record<ContentFeature, number> {
  const L = labels.length;
  const { segments } = forcedAlign(logp, T, V, labels);
  const best = frameBest(logp, T, V);
  const aligned = pathScore(logp, T, V, labels, segments);
  const gap = Math.min(0, aligned - best.score);
  const margin = needed.some((f) => f.startsWith('shuffle_')) ? shuffleMargin(logp, T, V, labels, aligned) : { mean: 0, z: 0 };
  const greedy = collapse(best.argmax);
  const speechFrames = Math.max(1, best.argmax.reduce((n, v) => n + (v === 0 ? 0 : 1), 0));
  return {
    gap_per_frame: gap / T,
    gap_per_phone: gap / L,
    gap_per_speech_frame: gap / Math.max(speechFrames, L),
    greedy_per: editDistance(greedy, labels) / L,
    low_posterior_01: lowPosteriorShare(logp, T, V, labels, segments, 0.01),
    low_posterior_05: lowPosteriorShare(logp, T, V, labels, segments, 0.05),
    greedy_length_ratio: greedy.length / L,
    // Evidence adds up over phones: a mean gap over few phones is noisier than over many, so the
    // total gap over the square root of the count (a z-like statistic) holds one threshold better
    // across short and long sentences.
    gap_per_sqrt_phone: gap / Math.sqrt(L),
    // How sure the recogniser is of anything in this recording (mean best log-posterior over its
    // speech frames): a weak or unusual voice makes every path score worse, not only a wrong text's.
    frame_confidence: speechConfidence(logp, T, V, best.argmax),
    log_phones: Math.log(L),
    speech_frames_per_phone: speechFrames / L,
    shuffle_margin_per_phone: margin.mean / L,
    shuffle_z: margin.z,
    // the native model's evidence is the same for every recogniser; missing without a native model
    ...(native ?? (Object.fromEntries(NATIVE_CONTENT_FEATURES.map((f) => [f, NaN])) as Record<NativeContentFeature, number>)),
  };
}

/** Sum of the log-posteriors along the alignment: a phone's label on its frames, blank elsewhere. */
function pathScore(logp: Float32Array, T: number, V: number, labels: readonly number[], segments: { start: number; end: number }[]): number {
  const state = new Int32Array(T); // 0 = blank
  segments.forEach((s, i) => {
    for (let t = Math.max(0, s.start); t < Math.min(T, s.end); t++) state[t] = labels[i]!;
  });
  let score = 0;
  for (let t = 0; t < T; t++) score += logp[t * V + state[t]!]!;
  return score;
}

/** The best label of every frame and the score of that (unconstrained) path. */
function frameBest(logp: Float32Array, T: number, V: number): { argmax: number[]; score: number } {
  const argmax: number[] = [];
  let score = 0;
  for (let t = 0; t < T; t++) {
    let b = 0;
    for (let v = 1; v < V; v++) if (logp[t * V + v]! > logp[t * V + b]!) b = v;
    argmax.push(b);
    score += logp[t * V + b]!;
  }
  return { argmax, score };
}

/**
 * How much better the reference phones align in their order than the same phones shuffled: the
 * recording's own yardstick. A weak but honest reading aligns badly in absolute terms, yet its
 * order still fits far better than a shuffle of the same sounds; another sentence's phones fit
 * about as badly in order as shuffled. Mean margin and margin over the shuffles' spread (z).
 */
function shuffleMargin(logp: Float32Array, T: number, V: number, labels: readonly number[], aligned: number): { mean: number; z: number } {
  const scores: number[] = [];
  for (let k = 0; k < SHUFFLES; k++) {
    const shuffled = shuffle(labels, k + 1);
    scores.push(pathScore(logp, T, V, shuffled, forcedAlign(logp, T, V, shuffled).segments));
  }
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  const sd = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
  return { mean: aligned - mean, z: (aligned - mean) / Math.max(sd, 1) };
}

/** Fisher-Yates with a seeded generator (mulberry32): the same shuffles on every run. */
function shuffle(labels: readonly number[], seed: number): number[] {
  const out = [...labels];
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const j = Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Mean best log-posterior over the frames whose best label is a phone (0 when there are none). */
function speechConfidence(logp: Float32Array, T: number, V: number, argmax: readonly number[]): number {
  let sum = 0;
  let n = 0;
  for (let t = 0; t < T; t++) {
    if (argmax[t] === 0) continue;
    sum += logp[t * V + argmax[t]!]!;
    n++;
  }
  return n ? sum / n : 0;
}

/** CTC greedy decoding: merge repeats, drop blanks. */
function collapse(argmax: readonly number[]): number[] {
  const out: number[] = [];
  argmax.forEach((v, t) => {
    if (v !== 0 && v !== argmax[t - 1]) out.push(v);
  });
  return out;
}

/** Levenshtein distance (substitution, insertion, deletion each 1). */
export function editDistance(a: readonly number[], b: readonly number[]): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[b.length]!;
}

/** Share of canonical phones whose posterior stays below `floor` on their segment and one frame either side. */
function lowPosteriorShare(
  logp: Float32Array, T: number, V: number, labels: readonly number[], segments: { start: number; end: number }[], floor: number,
): number {
  const logFloor = Math.log(floor);
  let low = 0;
  segments.forEach((s, i) => {
    let peak = -Infinity;
    for (let t = Math.max(0, s.start - 1); t < Math.min(T, s.end + 1); t++) peak = Math.max(peak, logp[t * V + labels[i]!]!);
    if (peak < logFloor) low++;
  });
  return low / labels.length;
}

/** A logistic model over content features, as the manifest's `contentMatch` states it. */
export interface ContentModel {
  features: ContentFeature[];
  /** standardisation: (x - mean) / scale, per feature */
  mean: number[];
  scale: number[];
  coefficients: number[];
  intercept: number;
  /** content match below this is a wrong sentence */
  threshold: number;
}

/**
 * Log-odds that the speech matches the text, from one recogniser's features. A missing value (the
 * native model's evidence on a recording too short to align) counts as the training mean: the
 * other evidence decides.
 */
export function contentLogit(model: ContentModel, f: Record<ContentFeature, number>): number {
  return model.features.reduce((z, name, i) => (isMissing(name, f[name]) ? z : z + (model.coefficients[i]! * (f[name] - model.mean[i]!)) / model.scale[i]!), model.intercept);
}

/**
 * Only the native evidence can be missing (NaN, or null read back from a JSON cache); any other
 * value counts as it is, an infinite gap included (it drives the score to 0, as it should).
 */
export function isMissing(name: ContentFeature, value: number | null): boolean {
  return (value === null || Number.isNaN(value)) && (NATIVE_CONTENT_FEATURES as readonly string[]).includes(name);
}

/**
 * The 0-1 content match of an utterance: the K recognisers' log-odds averaged (each recogniser
 * is an independent witness that never heard this speaker), then the logistic function.
 */
export function contentMatch(model: ContentModel, perRecogniser: readonly Record<ContentFeature, number>[]): number {
  const z = perRecogniser.reduce((s, f) => s + contentLogit(model, f), 0) / perRecogniser.length;
  return 1 / (1 + Math.exp(-z));
}

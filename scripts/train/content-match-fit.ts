/**
 * Fitting the content-match model: logistic regression (L2, Newton steps) on standardised
 * features, feature set and threshold chosen by speaker-grouped cross-validation on train/ pairs.
 * Own/wrong pairs are weighted to equal total weight, so the score is P(match) at even odds.
 */
import { isMissing, NATIVE_CONTENT_FEATURES, type ContentFeature, type ContentModel } from '../../src/inference/gop/content.js';
import { rocAuc } from '../eval/roc.js';
import type { PairRow } from './content-match.js';

/** The set so762-gop-2.0.0 to 2.2.0 shipped (chosen among the first five below). */
const SHIPPED: ContentFeature[] = ['gap_per_speech_frame', 'greedy_per', 'low_posterior_05', 'greedy_length_ratio'];
/** Feature sets compared by CV (the issue's three kinds of evidence, then everything). */
const CANDIDATES: ContentFeature[][] = [
  ['gap_per_frame', 'greedy_per', 'low_posterior_01'],
  ['gap_per_phone', 'greedy_per', 'low_posterior_05'],
  ['gap_per_speech_frame', 'greedy_per', 'low_posterior_01'],
  ['gap_per_speech_frame', 'greedy_per', 'low_posterior_05', 'greedy_length_ratio'],
  ['gap_per_frame', 'gap_per_phone', 'gap_per_speech_frame', 'greedy_per', 'low_posterior_01', 'low_posterior_05', 'greedy_length_ratio'],
];
/**
 * Compared and reported, not chosen from: the native-English model's evidence as a second witness
 * (scripts/train/README.md, "Content match"). Out of fold its best set moved the figures by about
 * one pair in 2,500 (own flagged at 96.5% caught .48% → .44%, worst fold unchanged), within what a
 * reshuffle of folds moves, and it would make the wrong-sentence decision depend on a second model.
 */
const COMPARED: ContentFeature[][] = [
  ['native_gap_per_frame', 'native_gap_per_phone', 'native_gap_per_speech_frame', 'native_loop_per', 'native_lpp_mean', 'native_low_npp_share'],
  [...SHIPPED, 'native_gap_per_speech_frame'],
  [...SHIPPED, 'native_gap_per_phone'],
  [...SHIPPED, 'native_gap_per_speech_frame', 'native_lpp_mean'],
  [...SHIPPED, 'native_gap_per_speech_frame', 'native_low_npp_share'],
  [...SHIPPED, 'native_gap_per_frame', 'native_gap_per_phone', 'native_gap_per_speech_frame', 'native_loop_per', 'native_lpp_mean', 'native_low_npp_share'],
];
/** Share of own-text pairs the shipped threshold may flag on out-of-fold scores (the goal is < 1%). */
export const TRUE_FLAG_TARGET = 0.004;
/** A second view of each candidate: the share of own pairs flagged when this share of wrong pairs is caught. */
const WRONG_CAUGHT_GOAL = 0.965;
const CV_FOLDS = 5;
const L2 = 1;

interface Fitted {
  mean: number[];
  scale: number[];
  coefficients: number[];
  intercept: number;
}

/**
 * The rows' feature matrix. A missing value (native evidence on a recording too short to align)
 * becomes its column's mean, which is what serving does (contentLogit reads it as the mean).
 */
function matrix(rows: readonly PairRow[], features: readonly ContentFeature[]): number[][] {
  const means = features.map((f) => {
    const present = rows.map((r) => r.features[f]).filter((v) => !isMissing(f, v));
    return present.reduce((a, b) => a + b, 0) / Math.max(1, present.length);
  });
  return rows.map((r) => features.map((f, j) => (isMissing(f, r.features[f]) ? means[j]! : r.features[f])));
}

/** Weighted L2 logistic regression by Newton's method on standardised columns. */
export function fitLogistic(X: number[][], y: boolean[], weight: number[]): Fitted {
  const d = X[0]!.length;
  const mean = Array.from({ length: d }, (_, j) => X.reduce((s, x) => s + x[j]!, 0) / X.length);
  const scale = mean.map((m, j) => Math.sqrt(X.reduce((s, x) => s + (x[j]! - m) ** 2, 0) / X.length) || 1);
  const Z = X.map((x) => [1, ...x.map((v, j) => (v - mean[j]!) / scale[j]!)]);
  let beta = new Array<number>(d + 1).fill(0);
  for (let iter = 0; iter < 50; iter++) {
    const g = new Array<number>(d + 1).fill(0);
    const H = Array.from({ length: d + 1 }, () => new Array<number>(d + 1).fill(0));
    Z.forEach((z, i) => {
      const p = 1 / (1 + Math.exp(-z.reduce((s, v, j) => s + v * beta[j]!, 0)));
      const r = weight[i]! * (p - (y[i] ? 1 : 0));
      const h = weight[i]! * p * (1 - p);
      for (let a = 0; a <= d; a++) {
        g[a]! += r * z[a]!;
        for (let b = 0; b <= d; b++) H[a]![b]! += h * z[a]! * z[b]!;
      }
    });
    for (let a = 1; a <= d; a++) {
      g[a]! += L2 * beta[a]!;
      H[a]![a]! += L2;
    }
    const step = solve(H, g);
    beta = beta.map((b, j) => b - step[j]!);
    if (Math.max(...step.map(Math.abs)) < 1e-9) break;
  }
  return { mean, scale, coefficients: beta.slice(1), intercept: beta[0]! };
}

/** Gaussian elimination with partial pivoting (small dense systems). */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  return M.map((row, i) => row[n]! / row[i]!);
}

function logit(m: Fitted, x: readonly number[]): number {
  return x.reduce((z, v, j) => z + (m.coefficients[j]! * (v - m.mean[j]!)) / m.scale[j]!, m.intercept);
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Own and wrong pairs weigh the same in total. */
function balance(rows: readonly PairRow[]): number[] {
  const own = rows.filter((r) => r.match).length;
  const wrong = rows.length - own;
  return rows.map((r) => (r.match ? rows.length / (2 * own) : rows.length / (2 * wrong)));
}

/** Speakers dealt to folds in a seeded order (mulberry32), so folds never split a speaker. */
function speakerFolds(rows: readonly PairRow[], k: number, seed = 1): Map<string, number> {
  const speakers = [...new Set(rows.map((r) => r.speaker))].sort();
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = speakers.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [speakers[i], speakers[j]] = [speakers[j]!, speakers[i]!];
  }
  return new Map(speakers.map((sp, i) => [sp, i % k]));
}

/** Out-of-fold content-match scores (0-1) of every row. */
function outOfFold(rows: readonly PairRow[], features: readonly ContentFeature[]): number[] {
  const fold = speakerFolds(rows, CV_FOLDS);
  const X = matrix(rows, features);
  const w = balance(rows);
  const out = new Array<number>(rows.length);
  for (let k = 0; k < CV_FOLDS; k++) {
    const train = rows.flatMap((r, i) => (fold.get(r.speaker) !== k ? [i] : []));
    const m = fitLogistic(train.map((i) => X[i]!), train.map((i) => rows[i]!.match), train.map((i) => w[i]!));
    rows.forEach((r, i) => {
      if (fold.get(r.speaker) === k) out[i] = sigmoid(logit(m, X[i]!));
    });
  }
  return out;
}

/** The highest threshold that flags at most `target` of the own-text pairs. */
export function thresholdFor(ownScores: readonly number[], target: number): number {
  const sorted = [...ownScores].sort((a, b) => a - b);
  const allowed = Math.floor(target * sorted.length); // this many may fall below the threshold
  return sorted[allowed]!; // flagged: score < threshold
}

interface CvResult {
  features: ContentFeature[];
  /** own-text pairs flagged at the threshold that catches WRONG_CAUGHT_GOAL of similar-length wrong pairs */
  ownFlaggedAtCatch: number;
  /** own pairs flagged in the worst speaker fold at the threshold */
  worstFold: number;
  /** own vs similar-length wrong pairs (what `npm run eval -- --diagnostics` measures) */
  auc: number;
  threshold: number;
  trueFlagged: number;
  wrongCaught: number;
  /** wrong pairs of any length caught */
  anyLengthCaught: number | null;
}

const isSimilar = (r: PairRow) => !r.match && r.pairing !== 'any';

function evaluate(rows: readonly PairRow[], features: ContentFeature[]): CvResult {
  const s = outOfFold(rows, features);
  const own = s.filter((_, i) => rows[i]!.match);
  const wrong = s.filter((_, i) => isSimilar(rows[i]!));
  const any = s.filter((_, i) => rows[i]!.pairing === 'any');
  const threshold = thresholdFor(own, TRUE_FLAG_TARGET);
  // the spread across speakers: own pairs flagged in the worst of the 5 speaker folds at that threshold
  const fold = speakerFolds(rows, CV_FOLDS);
  const worstFold = Math.max(...Array.from({ length: CV_FOLDS }, (_, k) => {
    const mine = s.filter((_, i) => rows[i]!.match && fold.get(rows[i]!.speaker) === k);
    return mine.filter((v) => v < threshold).length / mine.length;
  }));
  // the other side of the goal: own-text pairs flagged when the threshold catches WRONG_CAUGHT_GOAL of the wrong ones
  const atCatch = [...wrong].sort((a, b) => a - b)[Math.ceil(WRONG_CAUGHT_GOAL * wrong.length) - 1]!;
  return {
    features,
    ownFlaggedAtCatch: own.filter((v) => v <= atCatch).length / own.length,
    worstFold,
    auc: rocAuc(own, wrong),
    threshold,
    trueFlagged: own.filter((v) => v < threshold).length / own.length,
    wrongCaught: wrong.filter((v) => v < threshold).length / wrong.length,
    anyLengthCaught: any.length ? any.filter((v) => v < threshold).length / any.length : null,
  };
}

const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;

/** CV over the candidate sets; the best (wrong pairs caught, then AUC) is refitted on every row. */
export function fitContentModel(rows: readonly PairRow[]): { model: ContentModel & { training: Record<string, unknown> }; report: string } {
  const lines = [
    `train/ pairs: ${rows.filter((r) => r.match).length} own text, ${rows.filter(isSimilar).length} wrong text of similar length, ` +
      `${rows.filter((r) => r.pairing === 'any').length} of any length, ${new Set(rows.map((r) => r.speaker)).size} speakers; ${CV_FOLDS}-fold speaker CV`,
  ];
  const present = (f: ContentFeature) => (r: PairRow) => !isMissing(f, r.features[f]);
  const single = (Object.keys(rows[0]!.features) as ContentFeature[]).filter((f) => rows.some(present(f))).map((f) => {
    const own = rows.filter((r) => r.match && present(f)(r)).map((r) => r.features[f]);
    const wrong = rows.filter((r) => isSimilar(r) && present(f)(r)).map((r) => r.features[f]);
    const auc = rocAuc(own, wrong);
    return `${f} ${Math.max(auc, 1 - auc).toFixed(4)}`;
  });
  lines.push(`single-feature AUC: ${single.join(', ')}`);
  const results = CANDIDATES.map((c) => evaluate(rows, c));
  const hasNative = NATIVE_CONTENT_FEATURES.some((f) => rows.some(present(f)));
  const compared = hasNative ? COMPARED.map((c) => evaluate(rows, c)) : [];
  for (const r of [...results, ...compared]) {
    lines.push(`${compared.includes(r) ? '(compared) ' : ''}[${r.features.join(', ')}]: AUC ${r.auc.toFixed(4)}, threshold ${r.threshold.toFixed(4)}: own flagged ${pct(r.trueFlagged)}, wrong caught ${pct(r.wrongCaught)}` +
      (r.anyLengthCaught === null ? '' : `, any-length wrong caught ${pct(r.anyLengthCaught)}`) + `, worst fold's own flagged ${pct(r.worstFold)}` +
      `; catching ${pct(WRONG_CAUGHT_GOAL)}: own flagged ${pct(r.ownFlaggedAtCatch)}`);
  }
  const best = [...results].sort((a, b) => b.wrongCaught - a.wrongCaught || b.auc - a.auc)[0]!;
  lines.push(`chosen set, other operating points (out-of-fold): ${[0.002, 0.01, 0.02].map((target) => {
    const s = outOfFold(rows, best.features);
    const own = s.filter((_, i) => rows[i]!.match);
    const t = thresholdFor(own, target);
    const similar = rows.filter(isSimilar).length;
    return `own flagged ${pct(own.filter((v) => v < t).length / own.length)} → wrong caught ${pct(s.filter((v, i) => isSimilar(rows[i]!) && v < t).length / similar)}`;
  }).join('; ')}`);
  const fitted = fitLogistic(matrix(rows, best.features), rows.map((r) => r.match), balance(rows));
  const round = (v: number) => Math.round(v * 1e6) / 1e6;
  const model = {
    features: best.features,
    mean: fitted.mean.map(round),
    scale: fitted.scale.map(round),
    coefficients: fitted.coefficients.map(round),
    intercept: round(fitted.intercept),
    threshold: round(best.threshold),
    training: {
      data: 'SpeechOcean762 train/: each recording through the recogniser that did not hear its speaker, with its own text, 3 other texts of similar length and 1 of any length (scripts/eval/wrong-text-pairs.ts)',
      recipe: 'scripts/train/content-match.ts (logistic regression, L2 1, own/wrong weighted equally; feature set and threshold by 5-fold speaker CV)',
      cv: {
        auc: round(best.auc), trueFlagged: round(best.trueFlagged), wrongCaught: round(best.wrongCaught),
        anyLengthCaught: best.anyLengthCaught === null ? null : round(best.anyLengthCaught), trueFlagTarget: TRUE_FLAG_TARGET,
      },
    },
  };
  lines.push(`chosen: [${best.features.join(', ')}], threshold ${model.threshold}`);
  return { model, report: lines.join('\n') };
}

/**
 * The "gop" scorer pipeline: an acoustic graph (K cross-fitted CTC phone recognisers) → forced
 * alignment and GOP features here → a heads graph (gradient-boosted trees as ONNX
 * TreeEnsembleRegressor) → scores. Each recogniser's features go through the same heads and the
 * K predictions are averaged (the heads were fitted on features from recognisers that had not
 * heard those utterances, which is what every recogniser's features look like at serving time).
 */
import * as ort from 'onnxruntime-node';
import { checkTensor, invalidOutput, readTensor } from '../outputs.js';
import type { ReferenceWord } from '../../types.js';
import type { RawScores } from '../labels.js';
import { gopFeatures, PHONE_FEATURES, signalTrack, UTTERANCE_FEATURES, VOCAB, WORD_FEATURES, type GopFeatures, type SignalTrack } from './features.js';

export type RunGraph = (feeds: Record<string, ort.Tensor>) => Promise<ort.InferenceSession.OnnxValueMapType>;

export const ACOUSTIC_OUTPUTS = ['log_posteriors', 'frame_energy'] as const;
export const HEADS_INPUTS = [
  'phone_features', 'word_features', 'utterance_features', 'word_phone_membership', 'utterance_phone_membership',
] as const;
export const HEADS_OUTPUTS = ['phone_scores', 'word_scores', 'utterance_scores'] as const;

export interface AcousticResult {
  /** per recogniser, [frames, VOCAB] log-posteriors */
  logp: Float32Array[];
  frames: number;
  track: SignalTrack;
}

/** Run the acoustic graph and check what it returned: K recognisers' log-posteriors and energy. */
export async function runAcoustic(run: RunGraph, samples: Float32Array, recognisers: number): Promise<AcousticResult> {
  const outputs = await run({ samples: new ort.Tensor('float32', samples, [1, samples.length]) });
  const lp = readTensor(outputs, 'log_posteriors', 3);
  const energy = readTensor(outputs, 'frame_energy', 1);
  const [K, frames, V] = lp.dims as [number, number, number];
  if (K !== recognisers || V !== VOCAB || frames < 1) {
    throw invalidOutput(`output "log_posteriors" has shape [${lp.dims.join(', ')}], expected [${recognisers}, T, ${VOCAB}]`, { output: 'log_posteriors', shape: lp.dims });
  }
  return acousticResult(lp.data, K, frames, samples, energy.data);
}

/** [K, frames, VOCAB] log-posteriors and the frame energy of one recording, checked, as an AcousticResult. */
export function acousticResult(lp: Float32Array, K: number, frames: number, samples: Float32Array, energy: Float32Array): AcousticResult {
  const logp = Array.from({ length: K }, (_, k) => lp.subarray(k * frames * VOCAB, (k + 1) * frames * VOCAB));
  for (const [k, m] of logp.entries()) checkLogPosteriors(m, frames, k);
  return { logp, frames, track: signalTrack(samples, energy, frames) };
}

/** Each frame must be a distribution: log-probabilities at most 0 whose exponentials sum to 1. */
function checkLogPosteriors(logp: Float32Array, frames: number, recogniser: number): void {
  for (let t = 0; t < frames; t++) {
    let sum = 0;
    for (let v = 0; v < VOCAB; v++) sum += Math.exp(logp[t * VOCAB + v]!);
    if (Math.abs(sum - 1) > 1e-3) {
      throw invalidOutput(`recogniser ${recogniser}'s posteriors at frame ${t} sum to ${sum.toFixed(4)}, not 1`, { output: 'log_posteriors', recogniser, frame: t });
    }
  }
}

/**
 * 0/1 matrices [K*W, K*P] and [K, K*P]: which phone rows belong to each word row and utterance
 * row. The heads graph averages its own phone predictions over them (stacked features).
 */
function memberships(words: readonly ReferenceWord[], K: number): { word: Float32Array; utterance: Float32Array } {
  const P = words.reduce((n, w) => n + w.phones.length, 0);
  const W = words.length;
  const word = new Float32Array(K * W * K * P);
  const utterance = new Float32Array(K * K * P);
  for (let k = 0; k < K; k++) {
    let p = k * P;
    words.forEach((w, wi) => {
      for (let j = 0; j < w.phones.length; j++, p++) {
        word[(k * W + wi) * K * P + p] = 1;
        utterance[k * K * P + p] = 1;
      }
    });
  }
  return { word, utterance };
}

/** Stack the K feature sets row-wise so one heads run scores them all. */
function stack(sets: GopFeatures[], words: readonly ReferenceWord[]): Record<string, ort.Tensor> {
  const P = words.reduce((n, w) => n + w.phones.length, 0);
  const W = words.length;
  const K = sets.length;
  const member = memberships(words, K);
  // the contract's phone columns, and the native model's after them when the bundle has one
  const phoneWidth = P ? sets[0]!.phone.length / P : PHONE_FEATURES.length;
  const cat = (parts: Float32Array[], width: number): Float32Array => {
    const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    if (out.length % width) throw new Error('feature matrix width mismatch');
    return out;
  };
  return {
    phone_features: new ort.Tensor('float32', cat(sets.map((s) => s.phone), phoneWidth), [K * P, phoneWidth]),
    word_features: new ort.Tensor('float32', cat(sets.map((s) => s.word), WORD_FEATURES.length), [K * W, WORD_FEATURES.length]),
    utterance_features: new ort.Tensor('float32', cat(sets.map((s) => s.utterance), UTTERANCE_FEATURES.length), [K, UTTERANCE_FEATURES.length]),
    word_phone_membership: new ort.Tensor('float32', member.word, [K * W, K * P]),
    utterance_phone_membership: new ort.Tensor('float32', member.utterance, [K, K * P]),
  };
}

/** Mean over the K stacked copies: [K * rows, width] → rows × width. */
function averageCopies(data: Float32Array, K: number, rows: number, width: number): number[][] {
  return Array.from({ length: rows }, (_, r) =>
    Array.from({ length: width }, (_, c) => {
      let s = 0;
      for (let k = 0; k < K; k++) s += data[(k * rows + r) * width + c]!;
      return s / K;
    }),
  );
}

/** Features of every recogniser → heads graph → scores averaged over the recognisers. */
export async function runHeads(run: RunGraph, acoustic: AcousticResult, words: readonly ReferenceWord[], native?: Float32Array): Promise<RawScores> {
  const P = words.reduce((n, w) => n + w.phones.length, 0);
  const W = words.length;
  const K = acoustic.logp.length;
  const sets = acoustic.logp.map((lp) => gopFeatures(lp, acoustic.frames, acoustic.track, words, native));
  const outputs = await run(stack(sets, words));
  const expect = (name: string, dims: number[]) => checkTensor(outputs, name, dims);
  const phones = averageCopies(expect('phone_scores', [K * P, 1]), K, P, 1).map((r) => r[0]!);
  const wordScores = averageCopies(expect('word_scores', [K * W, 3]), K, W, 3);
  const utterance = averageCopies(expect('utterance_scores', [K, 5]), K, 1, 5)[0]!;
  return { utterance, words: wordScores, phones };
}

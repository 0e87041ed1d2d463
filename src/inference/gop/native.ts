/**
 * Phone evidence from an acoustic model trained on native English speech (issue 13): CMU Sphinx's
 * en-us continuous model (Debian's pocketsphinx-en-us), its front-end and Gaussian scoring exported
 * by scripts/train/native_gop.py as one ONNX graph (samples → log-likelihood of each of the 126
 * context-independent senones per 10 ms frame; exported --context-dependent, also of the triphone
 * senones given as cd_senones, which ./native-cd.ts uses). Here: force-align the reference's phones
 * with the 3-state CI HMMs and compute Witt & Young style goodness-of-pronunciation columns per phone.
 *
 * Speaker-grouped 5-fold CV on train/ (scripts/train/native_gop.py cv): the phone head's
 * out-of-fold PCC rose from .484 to .605 with these columns beside the contract's, every fold up by
 * .09-.18. The recognisers we train see 2,500 non-native utterances; this model heard hundreds of
 * hours of native speech, so it knows what the canonical sound should be.
 *
 * Mirrors phone_features() and align() in scripts/train/native_gop.py, which the tests hold it to.
 */
import * as ort from 'onnxruntime-node';
import { invalidOutput, readTensor } from '../outputs.js';
import { editDistance, NATIVE_CONTENT_FEATURES, type NativeContentFeature } from './content.js';
import type { RunGraph } from './engine.js';

export const NATIVE_PHONE_FEATURES = [
  'native_gop_state', 'native_lpp', 'native_npp', 'native_argmax_share', 'native_log_frames', 'native_competitor',
  'native_aligned_ll_rel', 'native_utterance_lpp_mean', 'native_word_lpp_mean', 'native_word_lpp_min', 'native_gop_phone',
] as const;

/** The model's CI phones in senone order (CI senone of phone p, state j = 3p + j). */
export const NATIVE_PHONES = [
  '+NSN+', '+SPN+', 'AA', 'AE', 'AH', 'AO', 'AW', 'AY', 'B', 'CH', 'D', 'DH', 'EH', 'ER', 'EY', 'F', 'G', 'HH', 'IH', 'IY',
  'JH', 'K', 'L', 'M', 'N', 'NG', 'OW', 'OY', 'P', 'R', 'S', 'SH', 'SIL', 'T', 'TH', 'UH', 'UW', 'V', 'W', 'Y', 'Z', 'ZH',
] as const;
export const SENONES = NATIVE_PHONES.length * 3;
const PHONE_INDEX = new Map<string, number>(NATIVE_PHONES.map((p, i) => [p, i]));
/** The phones a speech frame is scored against: fillers (+NSN+, +SPN+) excluded, silence kept. */
const SPEECH = NATIVE_PHONES.flatMap((p, i) => (p.startsWith('+') ? [] : [i]));
export const SIL = PHONE_INDEX.get('SIL')!;
/** The front-end's window in samples (25.625 ms at 16 kHz). */
const WINDOW = 410;

export interface NativeLoglik {
  /** [frames, 126] senone log-likelihoods */
  ll: Float32Array;
  frames: number;
  /** with the context-dependent graph: [frames, senones.length] log-likelihoods of the triphone senones asked for */
  cd?: { ll: Float32Array; senones: readonly number[] };
}

/**
 * Run the native graph on one recording (the server's float samples). `senones`: the triphone
 * senones to score as well (cd_senones); the context-dependent graph needs the input, empty or not,
 * and the context-independent one has none, so leave it out for that graph.
 */
export async function runNative(run: RunGraph, samples: Float32Array, senones?: readonly number[]): Promise<NativeLoglik> {
  // the graph frames 410-sample windows; a shorter recording gets one frame of zeros after it
  const input = samples.length >= WINDOW ? samples : Float32Array.from({ length: WINDOW }, (_, i) => samples[i] ?? 0);
  const feeds: Record<string, ort.Tensor> = { samples: new ort.Tensor('float32', input, [1, input.length]) };
  if (senones) feeds.cd_senones = new ort.Tensor('int64', BigInt64Array.from(senones, BigInt), [senones.length]);
  const outputs = await run(feeds);
  const out = readTensor(outputs, 'senone_loglik', 2);
  const [frames, width] = out.dims as [number, number];
  if (width !== SENONES) throw invalidOutput(`output "senone_loglik" has shape [${out.dims.join(', ')}], expected [T, ${SENONES}]`, { output: 'senone_loglik', shape: out.dims });
  if (!senones) return { ll: out.data, frames };
  const cd = readTensor(outputs, 'cd_senone_loglik', 2);
  if (cd.dims[0] !== frames || cd.dims[1] !== senones.length) {
    throw invalidOutput(`output "cd_senone_loglik" has shape [${cd.dims.join(', ')}], expected [${frames}, ${senones.length}]`, { output: 'cd_senone_loglik', shape: cd.dims });
  }
  return { ll: out.data, frames, cd: { ll: cd.data, senones } };
}

const stripStress = (p: string) => p.replace(/[012]$/, '');

export interface Alignment {
  /** per reference phone, its frames [start, end) */
  segments: [number, number][];
  /** per frame, the observation column aligned to it (in the CI alignment, the senone) */
  column: Int32Array;
  /** the path's total log-likelihood */
  score: number;
}

/** One left-to-right 3-state HMM in a forced alignment: the columns of the observation matrix its states read. */
export interface HmmBlock {
  columns: readonly [number, number, number];
  /** may be skipped (silence between words) */
  optional: boolean;
}

/**
 * Viterbi through HMM blocks in order, transitions free (the model's transition matrices add
 * little at this resolution), optional blocks skippable. `obs` is [T, width] log-likelihoods.
 * Returns, per non-optional block, its frames [start, end), and per frame the column aligned to it;
 * null when the recording has fewer than 3 frames per non-optional block.
 */
export function alignBlocks(obs: Float32Array, width: number, T: number, blocks: readonly HmmBlock[]): Alignment | null {
  const columns: number[] = [];
  const preds: number[][] = []; // -1: the start
  const starts: number[] = [];
  let exits = [-1];
  for (const block of blocks) {
    const base = columns.length;
    for (let j = 0; j < 3; j++) {
      columns.push(block.columns[j]!);
      preds.push(j === 0 ? [...exits] : [base + j - 1]);
    }
    exits = block.optional ? [base + 2, ...exits] : [base + 2];
    if (!block.optional) starts.push(base);
  }
  const S = columns.length;
  if (T < 3 * starts.length) return null;
  let score = new Float64Array(S).fill(-Infinity);
  for (let s = 0; s < S; s++) if (preds[s]!.includes(-1)) score[s] = obs[columns[s]!]!;
  const back = new Int32Array(T * S);
  for (let s = 0; s < S; s++) back[s] = s;
  const real = preds.map((ps) => ps.filter((q) => q >= 0));
  // two rows swapped each frame, not one allocated per frame
  let next = new Float64Array(S);
  for (let t = 1; t < T; t++) {
    const row = t * width;
    for (let s = 0; s < S; s++) {
      let best = score[s]!;
      let from = s;
      let bestPred = -Infinity;
      let predArg = -1;
      const ps = real[s]!;
      for (let i = 0; i < ps.length; i++) {
        const q = ps[i]!;
        if (score[q]! > bestPred) {
          bestPred = score[q]!;
          predArg = q;
        }
      }
      if (predArg >= 0 && bestPred > best) { // ties stay in the state
        best = bestPred;
        from = predArg;
      }
      next[s] = best + obs[row + columns[s]!]!;
      back[t * S + s] = from;
    }
    [score, next] = [next, score];
  }
  let s = -1;
  for (const q of exits) if (q >= 0 && (s < 0 || score[q]! > score[s]!)) s = q;
  const path = new Int32Array(T);
  for (let t = T - 1; t >= 0; t--) {
    path[t] = s;
    s = back[t * S + s]!;
  }
  const segments = starts.map((b): [number, number] => {
    let first = -1;
    let last = -1;
    for (let t = 0; t < T; t++) {
      if (path[t]! >= b && path[t]! < b + 3) {
        if (first < 0) first = t;
        last = t;
      }
    }
    return [first, last + 1];
  });
  const column = new Int32Array(T);
  let total = 0;
  for (let t = 0; t < T; t++) {
    column[t] = columns[path[t]!]!;
    total += obs[t * width + column[t]!]!;
  }
  return { segments, column, score: total };
}

/** The CI phone ids of a reference (stress marks dropped); throws on a phone the model lacks. */
export function nativePhoneIds(words: readonly (readonly string[])[]): number[][] {
  return words.map((w) => w.map((p) => {
    const id = PHONE_INDEX.get(stripStress(p));
    if (id === undefined) throw new Error(`native model has no phone ${p}`);
    return id;
  }));
}

/** SIL? w1 SIL? w2 … SIL?, each phone's block given by `phoneBlock` (its index in reading order). */
export function referenceBlocks(words: readonly (readonly number[])[], phoneBlock: (phone: number, index: number) => HmmBlock): HmmBlock[] {
  const silence: HmmBlock = { columns: [3 * SIL, 3 * SIL + 1, 3 * SIL + 2], optional: true };
  const blocks = [silence];
  let k = 0;
  for (const w of words) {
    for (const p of w) blocks.push(phoneBlock(p, k++));
    blocks.push(silence);
  }
  return blocks;
}

/**
 * Viterbi over SIL? w1 SIL? w2 … SIL? with the 3-state left-to-right CI HMMs. Null when the
 * recording has fewer than 3 frames per phone.
 */
export function nativeAlign(ll: Float32Array, T: number, words: readonly (readonly string[])[]): Alignment | null {
  const blocks = referenceBlocks(nativePhoneIds(words), (p) => ({ columns: [3 * p, 3 * p + 1, 3 * p + 2], optional: false }));
  return alignBlocks(ll, SENONES, T, blocks);
}

const logSumExp = (xs: ArrayLike<number>): number => {
  let m = -Infinity;
  for (let i = 0; i < xs.length; i++) m = Math.max(m, xs[i]!);
  if (m === -Infinity) return m;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += Math.exp(xs[i]! - m);
  return m + Math.log(s);
};

/** logSumExp of three values, without an array per call (the same operations in the same order). */
function logSumExp3(a: number, b: number, c: number): number {
  const m = Math.max(Math.max(Math.max(-Infinity, a), b), c);
  if (m === -Infinity) return m;
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m) + Math.exp(c - m));
}

/**
 * NATIVE_PHONE_FEATURES for each reference phone, row-major [P, 11] in reading order; every value
 * NaN when the recording is too short to align (the heads' trees route missing values).
 */
export function nativePhoneFeatures(native: NativeLoglik, words: readonly (readonly string[])[]): Float32Array {
  return nativeEvidence(native, words).columns;
}

/** The reference's native alignment (null when too short) and its NATIVE_PHONE_FEATURES rows. */
export function nativeEvidence(native: NativeLoglik, words: readonly (readonly string[])[]): { alignment: Alignment | null; columns: Float32Array } {
  const { ll, frames: T } = native;
  const F = NATIVE_PHONE_FEATURES.length;
  const P = words.reduce((n, w) => n + w.length, 0);
  const out = new Float32Array(P * F).fill(NaN);
  const alignment = nativeAlign(ll, T, words);
  if (!alignment) return { alignment, columns: out };
  // per frame: each speech phone's log-likelihood (log-sum over its 3 states), log posteriors over them, best senone, aligned senone
  const Q = SPEECH.length;
  const phoneLl = new Float64Array(T * Q);
  const logPost = new Float64Array(T * Q);
  const bestState = new Float64Array(T);
  const alignedLl = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    const o = t * SENONES;
    let best = -Infinity;
    for (let s = 0; s < SENONES; s++) best = Math.max(best, ll[o + s]!);
    bestState[t] = best;
    alignedLl[t] = ll[o + alignment.column[t]!]!;
    for (let q = 0; q < Q; q++) {
      const p = SPEECH[q]!;
      phoneLl[t * Q + q] = logSumExp3(ll[o + 3 * p]!, ll[o + 3 * p + 1]!, ll[o + 3 * p + 2]!);
    }
    const norm = logSumExp(phoneLl.subarray(t * Q, (t + 1) * Q));
    for (let q = 0; q < Q; q++) logPost[t * Q + q] = phoneLl[t * Q + q]! - norm;
  }
  const meanAligned = mean(alignedLl);
  const rows: number[][] = [];
  const wordOf: number[] = [];
  let k = 0;
  words.forEach((w, wi) => {
    for (const p of w) {
      const [a, b] = alignment.segments[k]!;
      const c = SPEECH.indexOf(PHONE_INDEX.get(stripStress(p))!);
      let gopState = 0, lpp = 0, npp = 0, argmax = 0, competitor = 0, aligned = 0, gopPhone = 0;
      for (let t = a; t < b; t++) {
        const post = logPost.subarray(t * Q, (t + 1) * Q);
        const pl = phoneLl.subarray(t * Q, (t + 1) * Q);
        let top = 0;
        let other = -Infinity;
        let plBest = -Infinity;
        for (let q = 0; q < Q; q++) {
          if (post[q]! > post[top]!) top = q;
          if (q !== c) other = Math.max(other, post[q]!);
          plBest = Math.max(plBest, pl[q]!);
        }
        gopState += alignedLl[t]! - bestState[t]!;
        lpp += post[c]!;
        npp += Math.exp(post[c]!);
        argmax += top === c ? 1 : 0;
        competitor += Math.exp(other);
        aligned += alignedLl[t]!;
        gopPhone += pl[c]! - plBest;
      }
      const n = b - a;
      rows.push([gopState / n, lpp / n, npp / n, argmax / n, Math.log(n), competitor / n, aligned / n - meanAligned, 0, 0, 0, gopPhone / n]);
      wordOf.push(wi);
      k++;
    }
  });
  const uttLpp = mean(rows.map((r) => r[1]!));
  rows.forEach((r, i) => {
    const inWord = rows.filter((_, j) => wordOf[j] === wordOf[i]).map((x) => x[1]!);
    r[7] = uttLpp;
    r[8] = mean(inWord);
    r[9] = Math.min(...inWord);
    out.set(r, i * F);
  });
  return { alignment, columns: out };
}

function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return xs.length ? s / xs.length : NaN;
}

/** Free phone recognition over the native model: its best path's score, phones (ids in NATIVE_PHONES, no silence) and speech frames. */
export interface NativeLoop {
  score: number;
  phones: number[];
  speechFrames: number;
}

/**
 * A phone entered in free recognition pays this (log-likelihood units): without it the loop hops
 * between phones every few frames (phone error rate against the reference 1.4 on train/ own-text
 * pairs). Chosen on every fifth train/ recording by how well the recognised phones' error rate tells
 * its own text from 3 other texts of similar length (ROC AUC .68 at 0, .75 at 5, .81 at 10, .89 at
 * 20, .92 at 40, .84 at 80).
 */
const PHONE_INSERTION_PENALTY = 40;

/**
 * Free phone recognition: Viterbi over a loop of every speech phone and silence (3-state
 * left-to-right HMMs, any phone after any other, no language model). Without a penalty its path
 * includes every forced path, so its score bounds the forced alignment's from above: the gap between
 * them is the classic verification statistic. The phones it names come from a second pass in which
 * each new phone pays PHONE_INSERTION_PENALTY.
 */
export function nativeLoop(native: NativeLoglik): NativeLoop {
  const free = loopViterbi(native, 0);
  return { score: free.score, speechFrames: free.speechFrames, phones: loopViterbi(native, PHONE_INSERTION_PENALTY).phones };
}

function loopViterbi(native: NativeLoglik, insertionPenalty: number): NativeLoop {
  const { ll, frames: T } = native;
  const Q = SPEECH.length;
  const S = 3 * Q;
  const senoneOf = (s: number) => 3 * SPEECH[Math.floor(s / 3)]! + (s % 3);
  let score = new Float64Array(S).fill(-Infinity);
  for (let q = 0; q < Q; q++) score[3 * q] = ll[senoneOf(3 * q)]!;
  const back = new Int32Array(T * S);
  for (let t = 1; t < T; t++) {
    let exit = 0; // the best phone end to enter a new phone from
    for (let q = 1; q < Q; q++) if (score[3 * q + 2]! > score[3 * exit + 2]!) exit = q;
    const next = new Float64Array(S);
    for (let s = 0; s < S; s++) {
      const pred = s % 3 === 0 ? 3 * exit + 2 : s - 1;
      const entering = s % 3 === 0 ? insertionPenalty : 0;
      const from = score[pred]! - entering > score[s]! ? pred : s;
      next[s] = score[from]! - (from === pred ? entering : 0) + ll[t * SENONES + senoneOf(s)]!;
      back[t * S + s] = from;
    }
    score = next;
  }
  let s = 2;
  for (let q = 1; q < Q; q++) if (score[3 * q + 2]! > score[s]!) s = 3 * q + 2;
  const best = score[s]!;
  const path = new Int32Array(T);
  for (let t = T - 1; t >= 0; t--) {
    path[t] = s;
    s = back[t * S + s]!;
  }
  const phones: number[] = [];
  let speechFrames = 0;
  for (let t = 0; t < T; t++) {
    const phone = SPEECH[Math.floor(path[t]! / 3)]!;
    if (phone !== SIL) speechFrames++;
    // a phone starts where its first state is entered from outside (a repeat re-enters from its own end)
    if (path[t]! % 3 === 0 && (t === 0 || path[t - 1] !== path[t]) && phone !== SIL) phones.push(phone);
  }
  return { score: best, phones, speechFrames };
}

/**
 * NATIVE_CONTENT_FEATURES of one recording against one reference; NaN throughout when the
 * recording is too short to align (the content model then reads the other evidence alone).
 * `given` is the recording's free recognition (nativeLoop: the same for every reference, pass it to compare many).
 */
export function nativeContentFeatures(
  native: NativeLoglik, words: readonly (readonly string[])[], given?: NativeLoop,
): Record<NativeContentFeature, number> {
  const reference = words.flat().map((p) => PHONE_INDEX.get(stripStress(p))!);
  const P = reference.length;
  const { alignment, columns } = nativeEvidence(native, words);
  if (!alignment || P === 0) return Object.fromEntries(NATIVE_CONTENT_FEATURES.map((f) => [f, NaN])) as Record<NativeContentFeature, number>;
  const F = NATIVE_PHONE_FEATURES.length;
  const column = (name: (typeof NATIVE_PHONE_FEATURES)[number]) => Array.from({ length: P }, (_, i) => columns[i * F + NATIVE_PHONE_FEATURES.indexOf(name)]!);
  const loop = given ?? nativeLoop(native);
  const gap = Math.min(0, alignment.score - loop.score);
  return {
    native_gap_per_frame: gap / native.frames,
    native_gap_per_phone: gap / P,
    native_gap_per_speech_frame: gap / Math.max(loop.speechFrames, P),
    native_loop_per: editDistance(loop.phones, reference) / P,
    native_lpp_mean: mean(column('native_lpp')),
    native_low_npp_share: column('native_npp').filter((v) => v < 0.05).length / P,
  };
}

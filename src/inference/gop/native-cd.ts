/**
 * Context-dependent phone evidence from the native-English model's triphone senones (issue 13).
 * Speaker-grouped CV on train/ (scripts/train/README.md, "Context-dependent GOP") put phone
 * accuracy at .613 with the alignment's three columns against .606 without, and at .634 with their
 * word and utterance context (CONTEXT_PHONE_FEATURES), every fold up. Which triphone each
 * reference phone is (the model's table, shipped in the bundle as manifest.native.triphones, with
 * the same fallbacks as the numpy reference), the senones the graph must score for them
 * (its cd_senones input), the forced alignment through those triphones, and the columns.
 *
 * Mirrors reference_triphones(), viterbi() and phone_features() in scripts/train/native_cd.py,
 * which tests/inference/native-cd.test.ts holds it to.
 */
import type { RunGraph } from './engine.js';
import {
  alignBlocks, NATIVE_PHONE_FEATURES, NATIVE_PHONES, nativePhoneFeatures, nativePhoneIds, referenceBlocks, runNative, SENONES, SIL,
  type Alignment, type NativeLoglik,
} from './native.js';

/** The columns per phone from the triphone alignment itself (native_cd.py's ALIGNMENT_FEATURES). */
export const ALIGNMENT_PHONE_FEATURES = ['cd_gop_state', 'cd_vs_ci', 'cd_log_frames'] as const;
/** Of those, the ones also read in their word's and utterance's context (mean, minimum, the phone's difference from the mean). */
const IN_CONTEXT = ['cd_gop_state', 'cd_vs_ci'] as const;
const CONTEXTS = ['word', 'utterance'] as const;
const CONTEXT_STATS = ['mean', 'min', 'dev'] as const;
/**
 * What the heads read from the triphones after the native columns: the alignment's 3 columns, then
 * the two GOP columns' word and utterance context. Speaker-grouped CV on train/ (scripts/train/README.md,
 * "Context-dependent GOP"): phone accuracy .606 without any, .613 with the first 3, .634 with all.
 */
export const CONTEXT_PHONE_FEATURES = [
  ...ALIGNMENT_PHONE_FEATURES,
  ...IN_CONTEXT.flatMap((c) => CONTEXTS.flatMap((g) => CONTEXT_STATS.map((st) => `${c}_${g}_${st}` as const))),
] as const;

/** The en-us model's senones: 126 CI ones, then the triphones' tied states. */
const MODEL_SENONES = 5126;
/** A row of the table file: base, left, right, word position, 3 senones (uint16 each). */
const ROW = 7;

/** The model's word-position codes (the mdef's wpos). */
const WORD_POSITION = { internal: 0, begin: 1, end: 2, single: 3 } as const;

const key = (base: number, left: number, right: number, wpos: number) => ((base * 64 + left) * 64 + right) * 4 + wpos;

/** The model's triphones: (base, left, right, word position) → their 3 senones. */
export class TriphoneTable {
  private readonly senones = new Map<number, readonly [number, number, number]>();

  /** rows of [base, left, right, wpos, senone0, senone1, senone2] (CI phone ids as in NATIVE_PHONES) */
  constructor(rows: Iterable<readonly number[]>) {
    for (const [base, left, right, wpos, s0, s1, s2] of rows) this.senones.set(key(base!, left!, right!, wpos!), [s0!, s1!, s2!]);
  }

  /**
   * The table file `native_cd.py table` writes: rows of 7 little-endian uint16 (base, left, right,
   * word position, 3 senones). Refuses a file that is not such rows, so a wrong file fails at load.
   */
  static fromBytes(bytes: Uint8Array): TriphoneTable {
    if (bytes.byteLength === 0 || bytes.byteLength % (2 * ROW) !== 0) throw new Error(`triphone table: ${bytes.byteLength} bytes is not rows of ${ROW} uint16`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const table = new TriphoneTable([]);
    const row = new Array<number>(ROW);
    for (let o = 0; o < bytes.byteLength; o += 2 * ROW) {
      for (let j = 0; j < ROW; j++) row[j] = view.getUint16(o + 2 * j, true);
      const [base, left, right, wpos, s0, s1, s2] = row as [number, number, number, number, number, number, number];
      if (Math.max(base, left, right) >= NATIVE_PHONES.length || wpos > WORD_POSITION.single || Math.max(s0, s1, s2) >= MODEL_SENONES) {
        throw new Error(`triphone table: row ${o / (2 * ROW)} (${row.join(' ')}) is out of the model's range`);
      }
      table.senones.set(key(base, left, right, wpos), [s0, s1, s2]);
    }
    return table;
  }

  /**
   * The triphone's senones; when the model lacks that context, the same context at another word
   * position, then silence on the left, on the right, on both, and at last the CI phone's own.
   */
  lookup(base: number, left: number, right: number, wpos: number): readonly [number, number, number] {
    const tries = [[left, right, wpos], [left, right, 0], [left, right, 1], [left, right, 2], [left, right, 3],
      [SIL, right, wpos], [left, SIL, wpos], [SIL, SIL, wpos]] as const;
    for (const [l, r, w] of tries) {
      const found = this.senones.get(key(base, l, r, w));
      if (found) return found;
    }
    return [3 * base, 3 * base + 1, 3 * base + 2];
  }
}

/**
 * Each reference phone's triphone senones in reading order: its neighbours across word boundaries
 * as context, silence at the ends of the utterance.
 */
export function referenceTriphones(table: TriphoneTable, words: readonly (readonly string[])[]): (readonly [number, number, number])[] {
  const ids = nativePhoneIds(words);
  const flat = ids.flat();
  const wpos = ids.flatMap((w) => w.map((_, k) => (w.length === 1 ? WORD_POSITION.single : k === 0 ? WORD_POSITION.begin
    : k === w.length - 1 ? WORD_POSITION.end : WORD_POSITION.internal)));
  return flat.map((p, i) => table.lookup(p, flat[i - 1] ?? SIL, flat[i + 1] ?? SIL, wpos[i]!));
}

/** The senones the graph must score for these triphones (cd_senones): the context-dependent ones, once each, ascending. */
export function contextSenones(triphones: readonly (readonly number[])[]): number[] {
  return [...new Set(triphones.flat().filter((s) => s >= SENONES))].sort((a, b) => a - b);
}

export interface ContextLoglik {
  /** [frames, 126] CI senone log-likelihoods (the native graph's senone_loglik) */
  ll: Float32Array;
  /** [frames, senones.length] log-likelihoods of the senones listed */
  cdLl: Float32Array;
  senones: readonly number[];
  frames: number;
}

/** The best left-to-right 3-state path's score through frames [a, b) of the given columns (from state 0 to 2). */
function segmentScore(obs: Float32Array, width: number, a: number, b: number, columns: readonly number[]): number {
  let s0 = obs[a * width + columns[0]!]!;
  let s1 = -Infinity;
  let s2 = -Infinity;
  for (let t = a + 1; t < b; t++) {
    const o = t * width;
    const n2 = Math.max(s2, s1) + obs[o + columns[2]!]!;
    const n1 = Math.max(s1, s0) + obs[o + columns[1]!]!;
    s0 += obs[o + columns[0]!]!;
    s1 = n1;
    s2 = n2;
  }
  return b - a >= 3 ? s2 : Math.max(s0, s1, s2); // under 3 frames no path passes every state
}

/**
 * ALIGNMENT_PHONE_FEATURES per reference phone, row-major [P, 3] in reading order (NaN throughout
 * when the recording is too short to align): the aligned triphone state against the frame's best CI
 * senone, the canonical triphone against the canonical CI phone over the phone's segment (per
 * frame), and the segment's log length.
 */
export function contextPhoneFeatures(
  native: ContextLoglik, words: readonly (readonly string[])[], triphones: readonly (readonly [number, number, number])[],
): { alignment: Alignment | null; columns: Float32Array } {
  const { ll, cdLl, senones, frames: T } = native;
  const P = words.reduce((n, w) => n + w.length, 0);
  if (triphones.length !== P) throw new Error(`${triphones.length} triphones for ${P} reference phones`);
  if (ll.length !== T * SENONES || cdLl.length !== T * senones.length) {
    throw new Error(`log-likelihoods of ${ll.length} and ${cdLl.length} values for ${T} frames of ${SENONES} and ${senones.length} senones`);
  }
  const F = ALIGNMENT_PHONE_FEATURES.length;
  const out = new Float32Array(triphones.length * F).fill(NaN);
  // one observation matrix: the CI senones, then the listed triphone senones
  const K = senones.length;
  const width = SENONES + K;
  const obs = new Float32Array(T * width);
  for (let t = 0; t < T; t++) {
    obs.set(ll.subarray(t * SENONES, (t + 1) * SENONES), t * width);
    obs.set(cdLl.subarray(t * K, (t + 1) * K), t * width + SENONES);
  }
  const column = new Map(senones.map((s, i) => [s, SENONES + i]));
  const cdColumns = triphones.map((tri) => tri.map((s) => {
    const c = s < SENONES ? s : column.get(s); // a triphone the model lacks falls back to the CI phone's own senones
    if (c === undefined) throw new Error(`senone ${s} was not scored`);
    return c;
  }) as unknown as readonly [number, number, number]);
  const ids = nativePhoneIds(words);
  const alignment = alignBlocks(obs, width, T, referenceBlocks(ids, (_, i) => ({ columns: cdColumns[i]!, optional: false })));
  if (!alignment) return { alignment, columns: out };
  const flat = ids.flat();
  alignment.segments.forEach(([a, b], i) => {
    let gopState = 0;
    for (let t = a; t < b; t++) {
      let best = -Infinity;
      for (let s = 0; s < SENONES; s++) best = Math.max(best, ll[t * SENONES + s]!);
      gopState += obs[t * width + alignment.column[t]!]! - best;
    }
    const n = b - a;
    const p = flat[i]!;
    const vsCi = (segmentScore(obs, width, a, b, cdColumns[i]!) - segmentScore(obs, width, a, b, [3 * p, 3 * p + 1, 3 * p + 2])) / n;
    out.set([gopState / n, vsCi, Math.log(n)], i * F);
  });
  return { alignment, columns: out };
}

/** The reference's triphones and the native run with their senones (the context-dependent graph), or the plain run. */
export async function runNativeFor(
  run: RunGraph, samples: Float32Array, words: readonly (readonly string[])[], model: { table: TriphoneTable | null; takesSenones: boolean },
): Promise<{ loglik: NativeLoglik; triphones: (readonly [number, number, number])[] | null }> {
  if (model.table && !model.takesSenones) throw new Error('the native graph has no cd_senones input: export it --context-dependent to use a triphone table');
  const triphones = model.table ? referenceTriphones(model.table, words) : null;
  // a context-dependent graph without a table still needs its input: no triphone senones
  const senones = triphones ? contextSenones(triphones) : model.takesSenones ? [] : undefined;
  return { loglik: await runNative(run, samples, senones), triphones };
}

/**
 * The native model's phone columns, row-major [P, F] in reading order: NATIVE_PHONE_FEATURES, then
 * CONTEXT_PHONE_FEATURES when the run scored the reference's triphones (what the heads read after
 * the contract's columns).
 */
export function nativeReferenceColumns(
  loglik: NativeLoglik, words: readonly (readonly string[])[], triphones: readonly (readonly [number, number, number])[] | null,
): Float32Array {
  const ci = nativePhoneFeatures(loglik, words);
  if (!triphones) return ci;
  if (!loglik.cd) throw new Error('the native run scored no triphone senones');
  const { columns: aligned } = contextPhoneFeatures({ ll: loglik.ll, cdLl: loglik.cd.ll, senones: loglik.cd.senones, frames: loglik.frames }, words, triphones);
  const cd = inContext(aligned, words);
  const A = NATIVE_PHONE_FEATURES.length;
  const B = CONTEXT_PHONE_FEATURES.length;
  const out = new Float32Array(triphones.length * (A + B));
  for (let i = 0; i < triphones.length; i++) {
    out.set(ci.subarray(i * A, (i + 1) * A), i * (A + B));
    out.set(cd.subarray(i * B, (i + 1) * B), i * (A + B) + A);
  }
  return out;
}

/**
 * CONTEXT_PHONE_FEATURES rows from the ALIGNMENT_PHONE_FEATURES rows: each IN_CONTEXT column's mean
 * and minimum over the phone's word and over the utterance, and the phone's difference from each
 * mean. A phone's GOP means more beside how the same speaker's other phones scored (the model's
 * fit to this voice and channel); the trees cannot take differences of columns themselves.
 */
export function inContext(aligned: Float32Array, words: readonly (readonly string[])[]): Float32Array {
  const A = ALIGNMENT_PHONE_FEATURES.length;
  const W = CONTEXT_PHONE_FEATURES.length;
  const P = aligned.length / A;
  const out = new Float32Array(P * W);
  const wordOf = words.flatMap((w, wi) => w.map(() => wi));
  const groups = { word: (i: number) => wordOf[i]!, utterance: () => 0 };
  for (let i = 0; i < P; i++) out.set(aligned.subarray(i * A, (i + 1) * A), i * W);
  let o = A;
  for (const c of IN_CONTEXT) {
    const j = ALIGNMENT_PHONE_FEATURES.indexOf(c);
    for (const g of CONTEXTS) {
      const sum = new Map<number, number>();
      const count = new Map<number, number>();
      const min = new Map<number, number>();
      for (let i = 0; i < P; i++) {
        const k = groups[g](i);
        const v = aligned[i * A + j]!;
        sum.set(k, (sum.get(k) ?? 0) + v);
        count.set(k, (count.get(k) ?? 0) + 1);
        min.set(k, Math.min(min.get(k) ?? Infinity, v));
      }
      for (let i = 0; i < P; i++) {
        const k = groups[g](i);
        const mean = sum.get(k)! / count.get(k)!; // NaN when the recording was too short to align: NaN throughout
        out.set([mean, min.get(k)!, aligned[i * A + j]! - mean], i * W + o);
      }
      o += CONTEXT_STATS.length;
    }
  }
  return out;
}

/**
 * Context-dependent phone evidence (src/inference/gop/native-cd.ts, issue 13) against its numpy
 * reference (scripts/train/native_cd.py fixture), on the recording of native-reference.json: the
 * triphones chosen from the model's table, the alignment and columns computed from the reference's
 * senone log-likelihoods, and the same through the bundle's own graph and table file (real ONNX
 * session, as the server runs them).
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  ALIGNMENT_PHONE_FEATURES, CONTEXT_PHONE_FEATURES, contextPhoneFeatures, contextSenones, inContext, nativeReferenceColumns, referenceTriphones,
  runNativeFor, TriphoneTable,
} from '../../src/inference/gop/native-cd.js';
import { NATIVE_PHONE_FEATURES, NATIVE_PHONES, nativePhoneFeatures, runNative, SIL } from '../../src/inference/gop/native.js';
import { createSession } from '../../src/inference/session.js';

const dir = path.join(import.meta.dirname, 'fixtures');
const read = <T>(name: string) => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as T;
const ci = read<{ words: string[][]; frames: number; senone_loglik_f32: string; pcm_s16le: string }>('native-reference.json');
const cd = read<{
  words: string[][]; frames: number; triphones: number[][]; table: number[][]; senones: number[];
  cd_senone_loglik_f32: string; names: string[]; features: number[][];
}>('native-cd-reference.json');
const floats = (b64: string) => {
  const b = Buffer.from(b64, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const native = { ll: floats(ci.senone_loglik_f32), cdLl: floats(cd.cd_senone_loglik_f32), senones: cd.senones, frames: cd.frames };
const table = new TriphoneTable(cd.table);
const id = (p: string) => NATIVE_PHONES.indexOf(p as (typeof NATIVE_PHONES)[number]);

describe('context-dependent phone evidence (CMU Sphinx en-us triphone senones)', () => {
  it('the fixture is the CI fixture\'s recording', () => {
    expect(cd.frames).toBe(ci.frames);
    expect(cd.words).toEqual(ci.words);
    expect(cd.names).toEqual([...ALIGNMENT_PHONE_FEATURES]);
  });

  it('chooses the reference\'s triphones as the numpy reference does', () => {
    expect(referenceTriphones(table, cd.words)).toEqual(cd.triphones);
  });

  it('falls back to another word position, then silence as context, then the CI phone', () => {
    const [k, ao, l, b] = ['K', 'AO', 'L', 'B'].map(id) as [number, number, number, number];
    const exact = [ao, k, l, 0, 10, 11, 12];
    expect(new TriphoneTable([exact]).lookup(ao, k, l, 0)).toEqual([10, 11, 12]);
    expect(new TriphoneTable([exact]).lookup(ao, k, l, 3)).toEqual([10, 11, 12]); // another word position
    expect(new TriphoneTable([[ao, SIL, l, 1, 20, 21, 22]]).lookup(ao, b, l, 1)).toEqual([20, 21, 22]); // silence on the left
    expect(new TriphoneTable([[ao, k, SIL, 1, 30, 31, 32], [ao, SIL, SIL, 1, 40, 41, 42]]).lookup(ao, k, b, 1)).toEqual([30, 31, 32]);
    expect(new TriphoneTable([[ao, SIL, SIL, 1, 40, 41, 42]]).lookup(ao, k, b, 1)).toEqual([40, 41, 42]);
    expect(new TriphoneTable([]).lookup(ao, k, l, 0)).toEqual([3 * ao, 3 * ao + 1, 3 * ao + 2]); // the CI phone
    // the exact word position first, then the others in order 0, 1, 2, 3; silence on the left before silence on the right
    const positions = new TriphoneTable([[ao, k, l, 2, 50, 51, 52], [ao, k, l, 1, 60, 61, 62], [ao, k, l, 3, 70, 71, 72]]);
    expect(positions.lookup(ao, k, l, 3)).toEqual([70, 71, 72]);
    expect(positions.lookup(ao, k, l, 0)).toEqual([60, 61, 62]);
    const silences = new TriphoneTable([[ao, k, SIL, 1, 30, 31, 32], [ao, SIL, l, 1, 20, 21, 22]]);
    expect(silences.lookup(ao, k, l, 1)).toEqual([20, 21, 22]);
  });

  it('reads the table file native_cd.py writes (rows of 7 little-endian uint16) and refuses anything else', () => {
    const file = Buffer.alloc(cd.table.length * 14);
    cd.table.forEach((row, i) => row.forEach((v, j) => file.writeUInt16LE(v, i * 14 + 2 * j)));
    expect(referenceTriphones(TriphoneTable.fromBytes(file), cd.words)).toEqual(cd.triphones);
    expect(() => TriphoneTable.fromBytes(file.subarray(0, 13))).toThrow(/not rows of 7 uint16/);
    expect(() => TriphoneTable.fromBytes(new Uint8Array(0))).toThrow(/not rows of 7 uint16/);
    const outOfRange = Buffer.from(file.subarray(0, 14));
    outOfRange.writeUInt16LE(42, 0); // no phone 42
    expect(() => TriphoneTable.fromBytes(outOfRange)).toThrow(/row 0 .* out of the model's range/);
    outOfRange.writeUInt16LE(cd.table[0]![0]!, 0);
    outOfRange.writeUInt16LE(5126, 12); // no senone 5126
    expect(() => TriphoneTable.fromBytes(outOfRange)).toThrow(/out of the model's range/);
    const row = () => Buffer.from(file.subarray(0, 14));
    const badLeft = row();
    badLeft.writeUInt16LE(42, 2);
    expect(() => TriphoneTable.fromBytes(badLeft)).toThrow(/out of the model's range/);
    const badPosition = row();
    badPosition.writeUInt16LE(4, 6);
    expect(() => TriphoneTable.fromBytes(badPosition)).toThrow(/out of the model's range/);
  });

  it('the columns from the reference log-likelihoods are the reference columns', () => {
    const { columns } = contextPhoneFeatures(native, cd.words, cd.triphones as [number, number, number][]);
    const F = ALIGNMENT_PHONE_FEATURES.length;
    expect(columns.length).toBe(cd.features.length * F);
    cd.features.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(columns[i * F + j]! - v)).toBeLessThan(1e-3 * (1 + Math.abs(v)))));
  });

  it('aligns every phone, in order, through its own triphone\'s states', () => {
    const { alignment } = contextPhoneFeatures(native, cd.words, cd.triphones as [number, number, number][]);
    expect(alignment!.segments).toHaveLength(cd.triphones.length);
    let previousEnd = 0;
    alignment!.segments.forEach(([a, b], i) => {
      expect(a).toBeGreaterThanOrEqual(previousEnd);
      expect(b - a).toBeGreaterThanOrEqual(3);
      for (let t = a; t < b; t++) expect(cd.triphones[i]).toContain(cd.senones[alignment!.column[t]! - 126]);
      previousEnd = b;
    });
  });

  it('lists the senones the graph must score: the context-dependent ones, once each', () => {
    expect(contextSenones(cd.triphones)).toEqual(cd.senones.filter((s) => s >= 126));
    expect(contextSenones([[3, 4, 5], [200, 150, 200]])).toEqual([150, 200]);
  });

  it('a phone whose triphone the model lacks is aligned through its CI senones, and its triphone-against-CI column is 0', () => {
    const triphones = cd.triphones.map((t) => [...t] as [number, number, number]);
    const p = id('AO');
    triphones[3] = [3 * p, 3 * p + 1, 3 * p + 2]; // AO of CALL (W IY K AO L …), as if its context were missing
    const { alignment, columns } = contextPhoneFeatures(native, cd.words, triphones);
    const F = ALIGNMENT_PHONE_FEATURES.length;
    expect(alignment!.segments).toHaveLength(triphones.length);
    expect(columns[3 * F + 1]).toBe(0);
    expect(columns[2 * F + 1]).not.toBe(0); // K keeps its triphone
    expect([...columns].every((v) => Number.isFinite(v))).toBe(true);
  });

  it('refuses inputs whose sizes disagree instead of aligning on zeros', () => {
    const triphones = cd.triphones as [number, number, number][];
    expect(() => contextPhoneFeatures(native, cd.words, triphones.slice(1))).toThrow(/9 triphones for 10 reference phones/);
    expect(() => contextPhoneFeatures({ ...native, cdLl: native.cdLl.subarray(1) }, cd.words, triphones)).toThrow(/log-likelihoods of/);
    expect(() => contextPhoneFeatures({ ...native, frames: native.frames + 1 }, cd.words, triphones)).toThrow(/log-likelihoods of/);
  });

  it('a recording too short for its phones yields missing values', () => {
    const frames = 5;
    const short = { ...native, ll: native.ll.subarray(0, frames * 126), cdLl: native.cdLl.subarray(0, frames * cd.senones.length), frames };
    const { alignment, columns } = contextPhoneFeatures(short, cd.words, cd.triphones as [number, number, number][]);
    expect(alignment).toBeNull();
    expect([...columns].every((v) => Number.isNaN(v))).toBe(true);
  });

  it('refuses triphones whose senones were not scored', () => {
    const K = cd.senones.length;
    const dropped = Float32Array.from({ length: cd.frames * (K - 1) }, (_, i) => native.cdLl[Math.floor(i / (K - 1)) * K + 1 + (i % (K - 1))]!);
    expect(() => contextPhoneFeatures({ ...native, senones: cd.senones.slice(1), cdLl: dropped }, cd.words, cd.triphones as [number, number, number][]))
      .toThrow(/senone \d+ was not scored/);
  });
});

describe('the alignment columns in their word\'s and utterance\'s context', () => {
  const words = [['W', 'IY0'], ['K', 'AO1', 'L']];
  const A = ALIGNMENT_PHONE_FEATURES.length;
  const aligned = Float32Array.from([-1, 0.5, 2, -3, -0.5, 1, -2, 1.5, 3, -4, 0, 2, -0.5, 2.5, 1]);

  it('names 3 alignment columns, then mean, minimum and difference from the mean per column and context', () => {
    expect(CONTEXT_PHONE_FEATURES.slice(0, A)).toEqual([...ALIGNMENT_PHONE_FEATURES]);
    expect(CONTEXT_PHONE_FEATURES.slice(A)).toEqual([
      'cd_gop_state_word_mean', 'cd_gop_state_word_min', 'cd_gop_state_word_dev', 'cd_gop_state_utterance_mean', 'cd_gop_state_utterance_min',
      'cd_gop_state_utterance_dev', 'cd_vs_ci_word_mean', 'cd_vs_ci_word_min', 'cd_vs_ci_word_dev', 'cd_vs_ci_utterance_mean',
      'cd_vs_ci_utterance_min', 'cd_vs_ci_utterance_dev',
    ]);
  });

  it('computes each from the phones of its own word and of the whole utterance', () => {
    const out = inContext(aligned, words);
    const W = CONTEXT_PHONE_FEATURES.length;
    expect(out).toHaveLength(5 * W);
    const col = (i: number, name: string) => out[i * W + CONTEXT_PHONE_FEATURES.indexOf(name as never)]!;
    // gop state: W IY = -1, -3; K AO L = -2, -4, -0.5
    expect(col(0, 'cd_gop_state_word_mean')).toBeCloseTo(-2);
    expect(col(1, 'cd_gop_state_word_min')).toBeCloseTo(-3);
    expect(col(0, 'cd_gop_state_word_dev')).toBeCloseTo(1);
    expect(col(3, 'cd_gop_state_word_mean')).toBeCloseTo(-6.5 / 3);
    expect(col(4, 'cd_gop_state_word_min')).toBeCloseTo(-4);
    expect(col(4, 'cd_gop_state_utterance_mean')).toBeCloseTo(-2.1);
    expect(col(0, 'cd_gop_state_utterance_min')).toBeCloseTo(-4);
    expect(col(4, 'cd_gop_state_utterance_dev')).toBeCloseTo(1.6);
    // triphone against CI: 0.5, -0.5; 1.5, 0, 2.5
    expect(col(1, 'cd_vs_ci_word_mean')).toBeCloseTo(0);
    expect(col(2, 'cd_vs_ci_word_min')).toBeCloseTo(0);
    expect(col(2, 'cd_vs_ci_utterance_mean')).toBeCloseTo(0.8);
    expect(col(1, 'cd_vs_ci_utterance_min')).toBeCloseTo(-0.5);
    expect(col(3, 'cd_vs_ci_utterance_dev')).toBeCloseTo(-0.8);
    for (let i = 0; i < 5; i++) expect([...out.subarray(i * W, i * W + A)]).toEqual([...aligned.subarray(i * A, (i + 1) * A)]);
  });

  it('a recording that could not be aligned stays missing in every context column', () => {
    expect([...inContext(new Float32Array(15).fill(NaN), words)].every((v) => Number.isNaN(v))).toBe(true);
  });
});

describe('the bundle\'s context-dependent graph and triphone table (models/default)', () => {
  const ROOT = path.resolve(import.meta.dirname, '../..');
  const pcm = Buffer.from(ci.pcm_s16le, 'base64');
  const samples = Float32Array.from(new Int16Array(pcm.buffer, pcm.byteOffset, pcm.byteLength / 2), (v) => v / 32767);
  const bundleTable = TriphoneTable.fromBytes(fs.readFileSync(path.join(ROOT, 'models/default/native-triphones.u16')));
  const withGraph = async <T>(use: (run: Parameters<typeof runNative>[0]) => Promise<T>): Promise<T> => {
    const { session } = await createSession(path.join(ROOT, 'models/default/native.onnx'), ['cpu'], { log: () => undefined });
    try {
      expect(session.inputNames).toContain('cd_senones');
      return await use((f) => session.run(f));
    } finally {
      await session.release();
    }
  };

  it('the table file chooses the numpy reference\'s triphones', () => {
    expect(referenceTriphones(bundleTable, cd.words)).toEqual(cd.triphones);
  });

  it('the graph scores the senones asked for as the numpy reference does, in the order asked', async () => {
    const asked = [...contextSenones(cd.triphones)].reverse();
    const out = await withGraph((run) => runNative(run, samples, asked));
    expect(out.frames).toBe(cd.frames);
    expect(out.cd!.senones).toEqual(asked);
    let worst = 0;
    asked.forEach((s, k) => {
      const j = cd.senones.indexOf(s);
      for (let t = 0; t < cd.frames; t++) {
        const want = native.cdLl[t * cd.senones.length + j]!;
        worst = Math.max(worst, Math.abs(out.cd!.ll[t * asked.length + k]! - want) / (1 + Math.abs(want)));
      }
    });
    expect(worst).toBeLessThan(1e-3);
  });

  it('an empty cd_senones scores the CI senones alone', async () => {
    const out = await withGraph((run) => runNative(run, samples, []));
    expect(out.cd!.ll).toHaveLength(0);
    expect(out.ll).toHaveLength(cd.frames * 126);
  });

  it('the server\'s path: the native columns, then the context-dependent ones, per reference phone', async () => {
    const { loglik, triphones } = await withGraph((run) => runNativeFor(run, samples, cd.words, { table: bundleTable, takesSenones: true }));
    expect(triphones).toEqual(cd.triphones);
    const columns = nativeReferenceColumns(loglik, cd.words, triphones);
    const A = NATIVE_PHONE_FEATURES.length;
    const W = A + CONTEXT_PHONE_FEATURES.length;
    expect(columns).toHaveLength(cd.triphones.length * W);
    const plain = nativePhoneFeatures(loglik, cd.words);
    cd.features.forEach((row, i) => {
      expect([...columns.subarray(i * W, i * W + A)]).toEqual([...plain.subarray(i * A, (i + 1) * A)]);
      row.forEach((v, j) => expect(Math.abs(columns[i * W + A + j]! - v)).toBeLessThan(1e-2 * (1 + Math.abs(v))));
    });
    expect(loglik.cd!.senones.length).toBeGreaterThan(cd.triphones.length); // the reference's triphone senones were fed and scored
    expect(loglik.cd!.ll).toHaveLength(cd.frames * loglik.cd!.senones.length);
  });

  it('without a table the graph still runs (no triphone senones) and the columns are the CI ones', async () => {
    const { loglik, triphones } = await withGraph((run) => runNativeFor(run, samples, cd.words, { table: null, takesSenones: true }));
    expect(triphones).toBeNull();
    expect(loglik.cd!.senones).toEqual([]); // the graph's cd_senones input was fed, empty
    expect(loglik.cd!.ll).toHaveLength(0);
    expect(nativeReferenceColumns(loglik, cd.words, null)).toEqual(nativePhoneFeatures(loglik, cd.words));
  });

  it('a table that lacks every context falls back to the CI senones: nothing more to score, the columns still computed', async () => {
    const { loglik, triphones } = await withGraph((run) => runNativeFor(run, samples, cd.words, { table: new TriphoneTable([]), takesSenones: true }));
    expect(loglik.cd!.senones).toEqual([]);
    const columns = nativeReferenceColumns(loglik, cd.words, triphones);
    const W = NATIVE_PHONE_FEATURES.length + CONTEXT_PHONE_FEATURES.length;
    expect(columns).toHaveLength(cd.triphones.length * W);
    expect([...columns].every((v) => Number.isFinite(v))).toBe(true);
    // every triphone is its CI phone: the triphone-against-CI column is 0 for each phone
    for (let i = 0; i < cd.triphones.length; i++) expect(columns[i * W + NATIVE_PHONE_FEATURES.length + 1]).toBe(0);
  });

  it('a recording too short to align gives rows of the full width, missing throughout', async () => {
    const { loglik, triphones } = await withGraph((run) => runNativeFor(run, samples.subarray(0, 300), cd.words, { table: bundleTable, takesSenones: true }));
    const columns = nativeReferenceColumns(loglik, cd.words, triphones);
    expect(columns).toHaveLength(cd.triphones.length * (NATIVE_PHONE_FEATURES.length + CONTEXT_PHONE_FEATURES.length));
    expect([...columns].every((v) => Number.isNaN(v))).toBe(true);
  });

  it('refuses a table beside a graph that cannot score triphones, before running it', async () => {
    let ran = false;
    const run = async () => {
      ran = true;
      return {};
    };
    await expect(runNativeFor(run, samples, cd.words, { table: bundleTable, takesSenones: false })).rejects.toThrow(/no cd_senones input/);
    expect(ran).toBe(false);
  });
});

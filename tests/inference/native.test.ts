/**
 * The native-English phone evidence (src/inference/gop/native.ts, issue 13) against its numpy
 * reference (scripts/train/native_gop.py fixture): the exported graph reproduces the reference's
 * senone log-likelihoods of a real recording, and the alignment and features computed here from
 * those log-likelihoods are the reference's. Real ONNX session, real (synthesised) speech.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createSession } from '../../src/inference/session.js';
import { NATIVE_PHONE_FEATURES, nativeAlign, nativePhoneFeatures, runNative } from '../../src/inference/gop/native.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const GRAPH = path.join(ROOT, 'models/default/native.onnx');
const fixture = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'fixtures/native-reference.json'), 'utf8')) as {
  words: string[][];
  pcm_s16le: string;
  frames: number;
  senone_loglik_f32: string;
  features: number[][];
};
const bytes = (b64: string) => Buffer.from(b64, 'base64');
const pcm = bytes(fixture.pcm_s16le);
const int16 = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.byteLength / 2);
const samples = Float32Array.from(int16, (v) => v / 32767);
const llBytes = bytes(fixture.senone_loglik_f32);
const referenceLl = new Float32Array(llBytes.buffer.slice(llBytes.byteOffset, llBytes.byteOffset + llBytes.byteLength));

async function graphLoglik() {
  const { session } = await createSession(GRAPH, ['cpu'], { log: () => undefined });
  try {
    return await runNative((f) => session.run(f), samples);
  } finally {
    await session.release();
  }
}

describe('native phone evidence (CMU Sphinx en-us CI senones)', () => {
  it('the graph reproduces the numpy reference senone log-likelihoods frame by frame', async () => {
    const out = await graphLoglik();
    expect(out.frames).toBe(fixture.frames);
    expect(out.ll.length).toBe(referenceLl.length);
    let worst = 0;
    for (let i = 0; i < out.ll.length; i++) worst = Math.max(worst, Math.abs(out.ll[i]! - referenceLl[i]!) / (1 + Math.abs(referenceLl[i]!)));
    expect(worst).toBeLessThan(1e-3);
  });

  it('the features from the reference log-likelihoods are the reference features', () => {
    const f = nativePhoneFeatures({ ll: referenceLl, frames: fixture.frames }, fixture.words);
    const F = NATIVE_PHONE_FEATURES.length;
    expect(f.length).toBe(fixture.features.length * F);
    fixture.features.forEach((row, i) => row.forEach((v, j) => expect(f[i * F + j]).toBeCloseTo(v, 3)));
  });

  it('the features from the graph agree with the reference within float32 rounding', async () => {
    const f = nativePhoneFeatures(await graphLoglik(), fixture.words);
    const F = NATIVE_PHONE_FEATURES.length;
    fixture.features.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(f[i * F + j]! - v)).toBeLessThan(0.01 * (1 + Math.abs(v)))));
  });

  it('aligns every phone, in order, to frames of its own HMM', () => {
    const a = nativeAlign(referenceLl, fixture.frames, fixture.words)!;
    const phones = fixture.words.flat();
    expect(a.segments).toHaveLength(phones.length);
    let previousEnd = 0;
    for (const [start, end] of a.segments) {
      expect(start).toBeGreaterThanOrEqual(previousEnd);
      expect(end - start).toBeGreaterThanOrEqual(3); // three emitting states, a frame each at least
      previousEnd = end;
    }
  });

  it('a recording too short for its phones yields missing values, not an alignment', () => {
    const frames = 5;
    const f = nativePhoneFeatures({ ll: referenceLl.subarray(0, frames * 126), frames }, fixture.words);
    expect(f.length).toBe(fixture.words.flat().length * NATIVE_PHONE_FEATURES.length);
    expect([...f].every((v) => Number.isNaN(v))).toBe(true);
  });

  it('refuses a phone the model does not have', () => {
    expect(() => nativeAlign(referenceLl, fixture.frames, [['W', 'QX']])).toThrow(/no phone QX/);
  });
});

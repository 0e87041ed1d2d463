/**
 * The native-English phone evidence (src/inference/gop/native.ts, issue 13) against its numpy
 * reference (scripts/train/native_gop.py fixture): the exported graph reproduces the reference's
 * senone log-likelihoods of a real recording, and the alignment and features computed here from
 * those log-likelihoods are the reference's. Real ONNX session, real (synthesised) speech.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createSession } from '../../src/inference/session.js';
import { NATIVE_PHONE_FEATURES, nativeAlign, nativeContentFeatures, nativeLoop, nativePhoneFeatures, runNative } from '../../src/inference/gop/native.js';

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
    // the bundle's graph is the context-dependent export: its cd_senones input, here with no triphone senones
    return await runNative((f) => session.run(f), samples, []);
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

  it('free phone recognition bounds the forced alignment from above and is bounded by the frame-wise best senones', () => {
    const ll = { ll: referenceLl, frames: fixture.frames };
    const loop = nativeLoop(ll);
    const forced = nativeAlign(referenceLl, fixture.frames, fixture.words)!;
    let frameBest = 0;
    for (let t = 0; t < fixture.frames; t++) frameBest += Math.max(...referenceLl.subarray(t * 126, (t + 1) * 126));
    expect(loop.score).toBeGreaterThanOrEqual(forced.score - 1e-6);
    expect(loop.score).toBeLessThanOrEqual(frameBest + 1e-6);
    // it hears speech, and names phones of the model's set (silence is not counted as one)
    expect(loop.speechFrames).toBeGreaterThan(0);
    expect(loop.speechFrames).toBeLessThanOrEqual(fixture.frames);
    expect(loop.phones.length).toBeGreaterThan(3);
  });

  it('content evidence: the recording\'s own text fits far better than another sentence of similar length', () => {
    const ll = { ll: referenceLl, frames: fixture.frames };
    const own = nativeContentFeatures(ll, fixture.words);
    const other = nativeContentFeatures(ll, [['S', 'IH1', 'K', 'S'], ['G', 'R', 'IY1', 'N'], ['SH', 'UW1', 'Z']]);
    expect(own.native_gap_per_speech_frame).toBeLessThanOrEqual(0);
    expect(other.native_gap_per_speech_frame).toBeLessThan(own.native_gap_per_speech_frame - 1);
    expect(other.native_gap_per_phone).toBeLessThan(own.native_gap_per_phone);
    expect(other.native_lpp_mean).toBeLessThan(own.native_lpp_mean);
    expect(other.native_low_npp_share).toBeGreaterThan(own.native_low_npp_share);
    // (on espeak-ng's formant speech the native model recognises few phones: the own text's error is no lower)
    expect(other.native_loop_per).toBeGreaterThanOrEqual(own.native_loop_per);
    // the same free recognition passed in gives the same evidence
    expect(nativeContentFeatures(ll, fixture.words, nativeLoop(ll))).toEqual(own);
  });

  it('content evidence of a recording too short to align is missing, not a guess', () => {
    const frames = 5;
    const f = nativeContentFeatures({ ll: referenceLl.subarray(0, frames * 126), frames }, fixture.words);
    expect(Object.values(f).every((v) => Number.isNaN(v))).toBe(true);
  });

  it('refuses a phone the model does not have', () => {
    expect(() => nativeAlign(referenceLl, fixture.frames, [['W', 'QX']])).toThrow(/no phone QX/);
  });
});

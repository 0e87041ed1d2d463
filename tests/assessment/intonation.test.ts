/**
 * Intonation below the API: the pitch tracker on tones whose pitch is known, the contour's cleaning,
 * the padding trimmed, and the summary's thresholds at their edges (src/assessment/intonation.ts).
 */
import { intonationOf, medianSemitones, MIN_VOICED_MS, MONOTONE_SPAN_SEMITONES, wordPitch } from '../../src/assessment/intonation.js';
import { PITCH_FIRST_MS, PITCH_HOP_MS, pitchContour, pitchTrack, semitonesOf, trackPitch } from '../../src/inference/gop/pitch.js';
import type { PitchTrack } from '../../src/types.js';

const RATE = 16000;

/** A voiced-like tone (fundamental and two harmonics) whose pitch glides from `fromHz` to `toHz`. */
function glide(fromHz: number, toHz: number, seconds: number): Float32Array {
  const out = new Float32Array(Math.round(seconds * RATE));
  let phase = 0;
  for (let i = 0; i < out.length; i++) {
    const hz = fromHz + ((toHz - fromHz) * i) / out.length;
    phase += (2 * Math.PI * hz) / RATE;
    out[i] = 0.3 * Math.sin(phase) + 0.15 * Math.sin(2 * phase) + 0.08 * Math.sin(3 * phase);
  }
  return out;
}

const track = (semitones: (number | null)[]): PitchTrack => ({ hopMs: PITCH_HOP_MS, firstMs: PITCH_FIRST_MS, semitones });

describe('the pitch tracker and its contour', () => {
  test('a steady 150 Hz tone reads as 150 Hz, a glide over an octave spans about 10 semitones (80% of 12)', () => {
    const steady = glide(150, 150, 1);
    const f0 = trackPitch(steady, 50);
    const voiced = [...f0].filter((hz) => hz > 0);
    expect(voiced.length).toBeGreaterThan(40);
    for (const hz of voiced) expect(Math.abs(semitonesOf(hz) - semitonesOf(150))).toBeLessThan(0.3);
    const up = intonationOf(pitchTrack(trackPitch(glide(120, 240, 2), 100), 2000));
    expect(up.pitchSpanSemitones!).toBeGreaterThan(8.5);
    expect(up.pitchSpanSemitones!).toBeLessThan(11);
    expect(up.errorTypes).toEqual([]);
    // the contour rises with the glide
    expect(up.contour.at(-1)!.hz).toBeGreaterThan(up.contour[0]!.hz * 1.7);
    const flat = intonationOf(pitchTrack(trackPitch(steady, 50), 1000));
    expect(flat.errorTypes).toEqual(['MONOTONE']);
    expect(flat.medianPitchHz!).toBeCloseTo(150, -1);
  });

  test('cleaning: a one-frame jump is smoothed away, runs under 3 frames dropped, octave errors dropped', () => {
    const hz = (st: number) => 100 * 2 ** (st / 12);
    const f0 = Float32Array.from([hz(5), hz(5), hz(9), hz(5), hz(5), 0, hz(5), hz(5), 0, hz(5), hz(17), hz(17), hz(17), hz(5), hz(5), hz(5), hz(5)]);
    const c = pitchContour(f0);
    expect(c[2]).toBeCloseTo(5, 5); // the median of 5, 9, 5
    expect(c[6]).toBeNull(); // a two-frame run
    expect(c[7]).toBeNull();
    expect(c[11]).toBeNull(); // 12 semitones above the median: an octave error
    expect(c[0]).toBeCloseTo(5, 5);
    expect(c.at(-1)).toBeCloseTo(5, 5);
  });

  test('the contour is on the recording\'s clock: a tone after 400 ms of silence starts at 400 ms and ends with it', () => {
    const silence = new Float32Array(0.4 * RATE);
    const tone = glide(150, 150, 0.6);
    const samples = new Float32Array(silence.length + tone.length + 0.4 * RATE);
    samples.set(tone, silence.length);
    const s = intonationOf(pitchTrack(trackPitch(samples, samples.length / 320), 1400));
    // a frame is voiced once its 32 ms window is mostly tone; its centre is then within a frame of the onset
    expect(Math.abs(s.contour[0]!.timeMs - 400)).toBeLessThanOrEqual(PITCH_HOP_MS);
    expect(Math.abs(s.contour.at(-1)!.timeMs - 1000)).toBeLessThanOrEqual(PITCH_HOP_MS);
  });

  test('the contour is kept in tenths of a semitone, as the timeline stores it', () => {
    const c = pitchTrack(trackPitch(glide(120, 180, 1), 50), 1000).semitones.filter((v): v is number => v !== null);
    expect(c.length).toBeGreaterThan(30);
    for (const v of c) expect(Math.round(v * 10) / 10).toBe(v);
  });

  test('frames of the padding past the recording are dropped', () => {
    const f0 = new Float32Array(100).fill(150);
    expect(pitchTrack(f0, 1000).semitones).toHaveLength(Math.ceil((1000 - PITCH_FIRST_MS) / PITCH_HOP_MS));
  });
});

describe('the intonation summary', () => {
  /** `n` voiced frames alternating between 0 and `span` semitones: its 10th-90th span is `span`. */
  const alternating = (n: number, span: number) => track(Array.from({ length: n }, (_, i) => (i % 2 ? span : 0)));

  test('MONOTONE under the span threshold with enough voicing, not at it, not on too little voicing', () => {
    const enough = MIN_VOICED_MS / PITCH_HOP_MS;
    expect(intonationOf(alternating(enough, MONOTONE_SPAN_SEMITONES - 0.1)).errorTypes).toEqual(['MONOTONE']);
    expect(intonationOf(alternating(enough, MONOTONE_SPAN_SEMITONES)).errorTypes).toEqual([]);
    expect(intonationOf(alternating(enough - 1, 0.5)).errorTypes).toEqual([]);
    expect(intonationOf(alternating(enough - 1, 0.5)).voicedMs).toBe(MIN_VOICED_MS - PITCH_HOP_MS);
    // the span judged is the span reported: 2.3 − 0.3 in floating point is just under 2
    const edge = intonationOf(track(Array.from({ length: enough }, (_, i) => (i % 2 ? 2.3 : 0.3))));
    expect(edge.pitchSpanSemitones).toBe(2);
    expect(edge.errorTypes).toEqual([]);
  });

  test('the contour skips unvoiced frames and is relative to the median; no voicing gives nulls', () => {
    const s = intonationOf(track([null, 0, 12, null, 12]));
    expect(s.medianPitchHz).toBeCloseTo(200, 5);
    expect(s.contour).toEqual([
      { timeMs: PITCH_FIRST_MS + PITCH_HOP_MS, hz: 100, semitones: -12 },
      { timeMs: PITCH_FIRST_MS + 2 * PITCH_HOP_MS, hz: 200, semitones: 0 },
      { timeMs: PITCH_FIRST_MS + 4 * PITCH_HOP_MS, hz: 200, semitones: 0 },
    ]);
    expect(intonationOf(track([null, null]))).toEqual({ medianPitchHz: null, pitchSpanSemitones: null, voicedMs: 0, errorTypes: [], contour: [] });
  });

  test("a word's pitch is over the frames centred in its time, against the reading's median", () => {
    const t = track([0, 0, 2, 4, 0, 0, null]);
    const centre = medianSemitones(t)!;
    expect(centre).toBe(0);
    // frames centred at 56 and 76 ms
    expect(wordPitch(t, 50, 80, centre)).toEqual({ meanSemitones: 3, spanSemitones: 2, voicedMs: 40 });
    expect(wordPitch(t, 130, 200, centre)).toBeNull(); // only the unvoiced frame
  });
});

import { downmix, resample } from '../../src/audio/resample.js';
import { sine } from '../support/audio-fixtures.js';

describe('resample', () => {
  test('60 s of 48 kHz audio becomes exactly 60 s at 16 kHz', () => {
    const out = resample(sine(440, 60, 48000), 48000, 16000);
    expect(out.length).toBe(60 * 16000);
  });

  test('odd rate pairs (44099 Hz: quantized phases) keep a tone', () => {
    const out = resample(sine(1000, 1, 44099, 0.5), 44099, 16000);
    let peak = 0;
    for (let i = 1000; i < out.length - 1000; i++) peak = Math.max(peak, Math.abs(out[i]));
    expect(peak).toBeGreaterThan(0.49);
    expect(peak).toBeLessThan(0.51);
  });

  test('DC level is preserved exactly away from the edges', () => {
    const out = resample(new Float32Array(44100).fill(0.3), 44100, 16000);
    expect(out[8000]).toBeCloseTo(0.3, 5);
  });

  test('same rate is a copy; downmix of one channel is that channel', () => {
    const x = sine(100, 0.1, 16000);
    expect(resample(x, 16000, 16000)).toEqual(x);
    expect(downmix([x])).toBe(x);
  });
});

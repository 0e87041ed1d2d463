/**
 * A small pitch tracker for the prosody features: YIN's cumulative-mean-normalised difference on
 * 8 kHz audio (pairs averaged: enough for 70-500 Hz voices, a quarter of the work), one estimate
 * per 20 ms frame so it lines up with the recogniser's frames.
 */

import type { PitchTrack } from '../../types.js';

const RATE = 8000;
const HOP = 160; // 20 ms at 8 kHz
const WINDOW = 256; // 32 ms
const MIN_LAG = Math.floor(RATE / 500);
const MAX_LAG = Math.ceil(RATE / 70);
/** YIN's threshold on the normalised difference: below it the frame counts as voiced. */
const VOICING = 0.2;

/** F0 in Hz per 20 ms frame (frame t covers 16 kHz samples from 320·t), 0 where unvoiced. */
export function trackPitch(samples: Float32Array, frames: number): Float32Array {
  const n = samples.length >> 1;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.5 * (samples[2 * i]! + samples[2 * i + 1]!);
  const f0 = new Float32Array(frames);
  const d = new Float64Array(MAX_LAG + 1);
  for (let t = 0; t < frames; t++) {
    const start = t * HOP;
    if (start + WINDOW + MAX_LAG > n) break;
    let energy = 0;
    for (let i = 0; i < WINDOW; i++) energy += x[start + i]! * x[start + i]!;
    if (energy < 1e-6 * WINDOW) continue; // silence: nothing to track
    let running = 0;
    let bestLag = 0;
    for (let lag = 1; lag <= MAX_LAG; lag++) {
      const sum = squaredDifference(x, start, start + lag);
      running += sum;
      d[lag] = running > 0 ? (sum * lag) / running : 1;
      if (lag >= MIN_LAG && d[lag]! < VOICING && bestLag === 0) bestLag = lag;
      // keep descending to the local minimum after the first dip under the threshold
      if (bestLag && lag === bestLag + 1 && d[lag]! < d[bestLag]!) bestLag = lag;
      if (bestLag && lag > bestLag + 1) break;
    }
    if (bestLag) f0[t] = RATE / bestLag;
  }
  return f0;
}

/**
 * Σ (x[a + i] − x[b + i])² over one window. Four running sums, not one: the additions of one chain
 * wait for each other, four chains keep the core busy (the tracker's hot loop: about 3× faster).
 * WINDOW is a multiple of 4.
 */
function squaredDifference(x: Float32Array, a: number, b: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let i = 0; i < WINDOW; i += 4) {
    const d0 = x[a + i]! - x[b + i]!;
    const d1 = x[a + i + 1]! - x[b + i + 1]!;
    const d2 = x[a + i + 2]! - x[b + i + 2]!;
    const d3 = x[a + i + 3]! - x[b + i + 3]!;
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  return s0 + s1 + s2 + s3;
}

/** trackPitch's frames: 20 ms apart, the first window's centre 16 ms into the recording. */
export const PITCH_HOP_MS = 20;
export const PITCH_FIRST_MS = 16;
/** A voiced run shorter than this (frames) is a stray detection in a consonant or noise, not a tone. */
const MIN_RUN = 3;
/** Further than this from the utterance's median (semitones) is an octave error, not intonation. */
const OCTAVE_ERROR = 10;

/** Semitones above 100 Hz: a log scale, so spans compare across voices (a child's and a man's). */
export const semitonesOf = (hz: number): number => 12 * Math.log2(hz / 100);

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[s.length >> 1]! : 0.5 * (s[s.length / 2 - 1]! + s[s.length / 2]!)) : NaN;
};

/**
 * The pitch contour intonation feedback reads: trackPitch's estimates in semitones, null where
 * unvoiced, cleaned the way a listener hears a tune: each estimate is the median of itself and its
 * neighbours (single-frame jumps are tracker noise), voiced runs under 3 frames are dropped, and
 * estimates more than 10 semitones from the utterance's median are dropped as octave errors.
 */
export function pitchContour(f0: Float32Array): (number | null)[] {
  const st = Array.from(f0, (hz) => (hz > 0 ? semitonesOf(hz) : null));
  const smoothed = st.map((v, t) => {
    if (v === null) return null;
    const near = [st[t - 1], v, st[t + 1]].filter((x): x is number => x !== null && x !== undefined);
    return median(near);
  });
  const kept = dropShortRuns(smoothed);
  const centre = median(kept.filter((v): v is number => v !== null));
  return kept.map((v) => (v !== null && Math.abs(v - centre) <= OCTAVE_ERROR ? v : null));
}

function dropShortRuns(xs: (number | null)[]): (number | null)[] {
  const out = [...xs];
  let start = 0;
  for (let t = 0; t <= xs.length; t++) {
    if (t < xs.length && xs[t] !== null) continue;
    if (t - start < MIN_RUN) for (let i = start; i < t; i++) out[i] = null;
    start = t + 1;
  }
  return out;
}

/**
 * The cleaned contour of a recording `durationMs` long (frames of the graph's padding dropped), in
 * tenths of a semitone: what Assessment.timeline stores, so the rationale written from it and the
 * API reading the stored row summarise the same values.
 */
export function pitchTrack(f0: Float32Array, durationMs: number): PitchTrack {
  const frames = Math.max(0, Math.min(f0.length, Math.ceil((durationMs - PITCH_FIRST_MS) / PITCH_HOP_MS)));
  const tenths = pitchContour(f0.subarray(0, frames)).map((v) => (v === null ? null : Math.round(v * 10) / 10));
  return { hopMs: PITCH_HOP_MS, firstMs: PITCH_FIRST_MS, semitones: tenths };
}

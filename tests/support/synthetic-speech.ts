/**
 * Vowel-like audio made in code, for API tests that need an upload the voice activity detector
 * accepts (and the model scores) on a machine without ../shared/speechocean762: a glottal pulse
 * train (f0 around 120 Hz) through three formant resonators, in four syllables a second.
 */
import { encodeWav } from './audio-fixtures.js';

const VOWELS = [
  [730, 1090, 2440],
  [270, 2290, 3010],
  [530, 1840, 2480],
  [570, 840, 2410],
  [300, 870, 2240],
];

export function speechLike(seconds: number, rate = 16000, f0 = 120): Float32Array {
  const n = Math.round(seconds * rate);
  const out = new Float32Array(n);
  const state = VOWELS[0]!.map(() => [0, 0]);
  let phase = 0;
  let peak = 0;
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    phase += (f0 + 20 * Math.sin(2 * Math.PI * 0.7 * t)) / rate;
    let pulse = 0;
    if (phase >= 1) {
      phase -= 1;
      pulse = 1;
    }
    const formants = VOWELS[Math.floor(t * 4) % VOWELS.length]!;
    const envelope = Math.sqrt(Math.max(0, Math.sin(Math.PI * ((t * 4) % 1))));
    let y = 0;
    formants.forEach((f, k) => {
      const r = Math.exp((-Math.PI * (80 + 40 * k)) / rate);
      const s = state[k]!;
      const yk = pulse + 2 * r * Math.cos((2 * Math.PI * f) / rate) * s[0]! - r * r * s[1]!;
      s[1] = s[0]!;
      s[0] = yk;
      y += yk / (k + 1);
    });
    out[i] = y * envelope;
    peak = Math.max(peak, Math.abs(out[i]!));
  }
  for (let i = 0; i < n; i++) out[i] = (0.6 * out[i]!) / peak;
  return out;
}

/** A 16 kHz mono WAV of speechLike(); different `seconds` or `f0` give different bytes. */
export function speechLikeWav(seconds: number, f0 = 120): Uint8Array {
  return encodeWav(speechLike(seconds, 16000, f0), 16000);
}

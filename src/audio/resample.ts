/**
 * Polyphase windowed-sinc resampler and channel downmix.
 *
 * Why our own: the model's features assume 16 kHz mono, and naive linear interpolation from 44.1/48 kHz
 * folds everything above 8 kHz back into the speech band. A Kaiser-windowed sinc low-passes at the
 * lower of the two Nyquist rates before picking output samples, so aliasing stays below ~-80 dB.
 */

/** Zero crossings of the sinc on each side: more = sharper transition band, more work per sample. */
const ZERO_CROSSINGS = 16;
/** Pass-band edge as a fraction of the target Nyquist; the rest is the transition band. */
const ROLLOFF = 0.94;
const KAISER_BETA = 8.6;
/** Cap on precomputed phases; odd rate pairs (e.g. 44099 Hz) have huge L and use nearest phase. */
const MAX_PHASES = 4096;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (series); needed by the Kaiser window. */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

function kaiser(t: number, halfWidth: number): number {
  const r = t / halfWidth;
  if (Math.abs(r) >= 1) return 0;
  return besselI0(KAISER_BETA * Math.sqrt(1 - r * r)) / besselI0(KAISER_BETA);
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

interface Kernel {
  /** taps per phase; rows are normalized to unit DC gain so silence and level survive exactly */
  table: Float32Array[];
  /** input samples on each side of the output position */
  half: number;
}

/** Build one filter row per fractional input position `phase/phases`. */
function buildKernel(fromRate: number, toRate: number, phases: number): Kernel {
  const cutoff = 0.5 * Math.min(1, toRate / fromRate) * ROLLOFF; // cycles per input sample
  const halfWidth = ZERO_CROSSINGS / (2 * cutoff);
  const half = Math.ceil(halfWidth);
  const table: Float32Array[] = [];
  for (let p = 0; p < phases; p++) {
    const frac = p / phases;
    const row = new Float32Array(2 * half);
    let sum = 0;
    for (let j = 0; j < 2 * half; j++) {
      const t = j - (half - 1) - frac; // distance of input tap (i0 + j - half + 1) from output position
      const v = 2 * cutoff * sinc(2 * cutoff * t) * kaiser(t, halfWidth);
      row[j] = v;
      sum += v;
    }
    for (let j = 0; j < row.length; j++) row[j] /= sum;
    table.push(row);
  }
  return { table, half };
}

/** Resample mono PCM from `fromRate` to `toRate`. Samples beyond the edges are taken as zero. */
export function resample(input: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return input.slice();
  const g = gcd(fromRate, toRate);
  const up = toRate / g; // L: output position advances by down/up input samples
  const down = fromRate / g; // M
  const phases = Math.min(up, MAX_PHASES);
  const { table, half } = buildKernel(fromRate, toRate, phases);
  const outLength = Math.floor((input.length * up) / down);
  const out = new Float32Array(outLength);
  const n = input.length;
  for (let o = 0; o < outLength; o++) {
    const pos = o * down; // input position times `up`, kept integral to avoid drift
    const i0 = Math.floor(pos / up);
    const phase = phases === up ? pos % up : Math.floor(((pos % up) / up) * phases);
    const row = table[phase];
    const start = i0 - half + 1;
    let acc = 0;
    if (start >= 0 && start + row.length <= n) {
      for (let j = 0; j < row.length; j++) acc += row[j] * input[start + j];
    } else {
      for (let j = 0; j < row.length; j++) {
        const k = start + j;
        if (k >= 0 && k < n) acc += row[j] * input[k];
      }
    }
    out[o] = acc;
  }
  return out;
}

/** Average all channels; averaging (not summing) keeps a centred mono source at its level. */
export function downmix(channels: Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0];
  const length = Math.min(...channels.map((c) => c.length));
  const out = new Float32Array(length);
  for (const ch of channels) for (let i = 0; i < length; i++) out[i] += ch[i];
  const scale = 1 / channels.length;
  for (let i = 0; i < length; i++) out[i] *= scale;
  return out;
}

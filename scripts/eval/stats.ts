/**
 * Pearson correlation, MSE, and 95% confidence intervals by bootstrap over speakers.
 *
 * The bootstrap resamples speakers with replacement (every utterance, word and phone of a drawn
 * speaker comes along), because items of one speaker are far from independent. Each series keeps
 * per-speaker sufficient statistics, so a draw costs O(speakers), not O(items).
 */

export function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  if (n < 2) return NaN;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

export function mse(a: readonly number[], b: readonly number[]): number {
  if (a.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / a.length;
}

/** n, Σx, Σy, Σx², Σy², Σxy, Σ(x-y)² of one speaker's items (x prediction, y label). */
type Moments = [number, number, number, number, number, number, number];

function moments(x: readonly number[], y: readonly number[], idx: readonly number[]): Moments {
  const m: Moments = [0, 0, 0, 0, 0, 0, 0];
  for (const i of idx) {
    const a = x[i]!;
    const b = y[i]!;
    m[0] += 1;
    m[1] += a;
    m[2] += b;
    m[3] += a * a;
    m[4] += b * b;
    m[5] += a * b;
    m[6] += (a - b) ** 2;
  }
  return m;
}

function pccOf(m: Moments): number {
  const [n, sx, sy, sxx, syy, sxy] = m;
  const cov = sxy - (sx * sy) / n;
  const vx = sxx - (sx * sx) / n;
  const vy = syy - (sy * sy) / n;
  return vx > 1e-12 && vy > 1e-12 ? cov / Math.sqrt(vx * vy) : NaN;
}

/** Deterministic PRNG (mulberry32) so the intervals are reproducible. */
export function rng(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** Speaker draws shared by every series, so all intervals come from the same resamples. */
export function speakerDraws(nSpeakers: number, draws: number, seed: number): Uint16Array[] {
  const next = rng(seed);
  return Array.from({ length: draws }, () => {
    const counts = new Uint16Array(nSpeakers);
    for (let i = 0; i < nSpeakers; i++) counts[Math.floor(next() * nSpeakers)]!++;
    return counts;
  });
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface Interval {
  pcc: [number, number];
  mse: [number, number];
}

/**
 * Percentile 95% intervals of PCC and MSE over speaker draws. `speakerOf[i]` is item i's speaker
 * index (0..nSpeakers-1); draws where the PCC is undefined (a constant side) are left out.
 */
export function bootstrapCI(
  pred: readonly number[],
  gold: readonly number[],
  speakerOf: readonly number[],
  draws: readonly Uint16Array[],
): Interval {
  const nSpk = draws[0]?.length ?? 0;
  const bySpeaker: number[][] = Array.from({ length: nSpk }, () => []);
  speakerOf.forEach((s, i) => bySpeaker[s]!.push(i));
  const per = bySpeaker.map((idx) => moments(pred, gold, idx));
  const pccs: number[] = [];
  const mses: number[] = [];
  for (const counts of draws) {
    const m: Moments = [0, 0, 0, 0, 0, 0, 0];
    for (let s = 0; s < nSpk; s++) {
      const c = counts[s]!;
      if (c === 0) continue;
      for (let k = 0; k < 7; k++) m[k]! += c * per[s]![k]!;
    }
    if (m[0] === 0) continue;
    const r = pccOf(m);
    if (Number.isFinite(r)) pccs.push(r);
    mses.push(m[6] / m[0]);
  }
  pccs.sort((a, b) => a - b);
  mses.sort((a, b) => a - b);
  return { pcc: [quantile(pccs, 0.025), quantile(pccs, 0.975)], mse: [quantile(mses, 0.025), quantile(mses, 0.975)] };
}

/**
 * A ratio of sums (Σ numerator / Σ denominator, e.g. agreeing critiques / critiques) and its
 * percentile 95% interval over the same speaker draws. `num[s]` and `den[s]` are speaker s's sums;
 * draws whose denominator is 0 are left out. NaN when the denominator is 0 overall.
 */
export function ratioWithCI(
  num: readonly number[],
  den: readonly number[],
  draws: readonly Uint16Array[],
): { value: number; ci95: [number, number] } {
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  const total = sum(den);
  const ratios: number[] = [];
  for (const counts of draws) {
    let n = 0;
    let d = 0;
    for (let s = 0; s < counts.length; s++) {
      n += counts[s]! * num[s]!;
      d += counts[s]! * den[s]!;
    }
    if (d > 0) ratios.push(n / d);
  }
  ratios.sort((a, b) => a - b);
  return { value: total > 0 ? sum(num) / total : NaN, ci95: [quantile(ratios, 0.025), quantile(ratios, 0.975)] };
}

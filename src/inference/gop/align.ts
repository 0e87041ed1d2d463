/**
 * CTC forced alignment of the canonical phones on a recogniser's log-posteriors: the Viterbi path
 * through blank, phone 1, blank, phone 2, … that the standard CTC topology allows. Each phone gets
 * the frames its own (non-blank) state holds on the best path; blanks between phones belong to no
 * phone, and long blank runs between words are the pauses the fluency features count.
 */

/** Frames [start, end) of one canonical phone on the best path. */
export interface PhoneSegment {
  start: number;
  end: number;
}

export interface Alignment {
  segments: PhoneSegment[];
  /** False when the audio has fewer frames than the phones need: segments are proportional then. */
  viterbi: boolean;
}

/**
 * @param logp  [T, V] row-major log-posteriors, blank at index 0
 * @param labels canonical phone ids, 1-based in the posterior's vocabulary (phone id + 1)
 */
export function forcedAlign(logp: Float32Array, T: number, V: number, labels: readonly number[]): Alignment {
  const L = labels.length;
  let needed = L;
  for (let i = 1; i < L; i++) if (labels[i] === labels[i - 1]) needed++; // a blank must separate repeats
  if (L === 0 || T < needed) return { segments: proportional(T, L), viterbi: false };

  const S = 2 * L + 1;
  const label = (s: number): number => (s % 2 === 0 ? 0 : labels[(s - 1) >> 1]!);
  let prev = new Float64Array(S).fill(-Infinity);
  let cur = new Float64Array(S);
  const back = new Uint8Array(T * S); // how far the path stepped back into s: 0, 1 or 2 states
  prev[0] = logp[0]!;
  prev[1] = logp[label(1)]!;
  for (let t = 1; t < T; t++) {
    const row = t * V;
    // states that cannot reach the end in the frames left stay -Infinity naturally; no pruning needed
    for (let s = 0; s < S; s++) {
      let best = prev[s]!;
      let step = 0;
      if (s >= 1 && prev[s - 1]! > best) {
        best = prev[s - 1]!;
        step = 1;
      }
      if (s >= 2 && s % 2 === 1 && label(s) !== label(s - 2) && prev[s - 2]! > best) {
        best = prev[s - 2]!;
        step = 2;
      }
      cur[s] = best + logp[row + label(s)]!;
      back[t * S + s] = step;
    }
    [prev, cur] = [cur, prev];
  }
  let s = prev[S - 1]! >= prev[S - 2]! ? S - 1 : S - 2;
  const starts = new Int32Array(L).fill(-1);
  const ends = new Int32Array(L).fill(-1);
  for (let t = T - 1; t >= 0; t--) {
    if (s % 2 === 1) {
      const i = (s - 1) >> 1;
      if (ends[i] < 0) ends[i] = t + 1;
      starts[i] = t;
    }
    if (t > 0) s -= back[t * S + s]!;
  }
  const segments = Array.from({ length: L }, (_, i) => ({ start: starts[i]!, end: ends[i]! }));
  return { segments, viterbi: true };
}

/** Equal shares of the frames, in order; used only when the audio is shorter than the phones. */
function proportional(T: number, L: number): PhoneSegment[] {
  return Array.from({ length: L }, (_, i) => {
    const start = Math.min(T - 1, Math.floor((i * T) / L));
    return { start: Math.max(0, start), end: Math.max(start + 1, Math.floor(((i + 1) * T) / L)) };
  });
}

/**
 * The codec of Assessment.timeline (JSON): the pauses and inserted speech a model's alignment found
 * in the utterance, and its pitch contour. Written only through `encodeTimeline`, read only through
 * `decodeTimeline`, which checks the shape so a hand-edited or older row reads as "no timeline"
 * rather than as garbage.
 */
import type { Insertion, Pause, PitchTrack } from '../types.js';

export interface Timeline {
  pauses: Pause[];
  insertions: Insertion[];
  /** null in rows written before pitch was kept (version 1) */
  pitch: PitchTrack | null;
}

/**
 * Version 2: {v: 2, pauses: [[afterWordIndex, startMs, endMs]], insertions: [[afterWordIndex|null,
 * startMs, endMs, phones]], pitch: [hopMs, firstMs, [tenths of a semitone above 100 Hz | null]] | null}.
 * Version 1 had no pitch; it still reads, with pitch null. Tenths of a semitone (0.6% in frequency)
 * are finer than the tracker's own resolution and keep the contour a few kB.
 */
interface StoredTimeline {
  v: 1 | 2;
  pauses: [number, number, number][];
  insertions: [number | null, number, number, string[]][];
  pitch?: [number, number, (number | null)[]] | null;
}

export function encodeTimeline(t: { pauses: Pause[]; insertions: Insertion[]; pitch?: PitchTrack | null }): StoredTimeline {
  return {
    v: 2,
    pauses: t.pauses.map((p) => [p.afterWordIndex, p.startMs, p.endMs]),
    insertions: t.insertions.map((i) => [i.afterWordIndex, i.startMs, i.endMs, i.phones]),
    pitch: t.pitch ? [t.pitch.hopMs, t.pitch.firstMs, t.pitch.semitones.map((v) => (v === null ? null : Math.round(v * 10)))] : null,
  };
}

const isInt = (v: unknown): v is number => Number.isInteger(v);

/** null when absent; undefined when present but not a contour this codec wrote. */
function decodePitch(stored: unknown): PitchTrack | null | undefined {
  if (stored === null || stored === undefined) return null;
  if (!Array.isArray(stored) || stored.length !== 3) return undefined;
  const [hopMs, firstMs, values] = stored as unknown[];
  if (!isInt(hopMs) || hopMs <= 0 || !isInt(firstMs) || firstMs < 0 || !Array.isArray(values)) return undefined;
  if (!values.every((v) => v === null || isInt(v))) return undefined;
  return { hopMs, firstMs, semitones: values.map((v: number | null) => (v === null ? null : v / 10)) };
}

/**
 * Decoded once per loaded row: the resolvers of one assessment (pauses, insertions, fluency, each
 * word's break and pitch) all read the same column value, and the contour is the long part.
 * Callers must not change what they get.
 */
const decoded = new WeakMap<object, Timeline | null>();

/** null when the column is empty or not a timeline this codec wrote. */
export function decodeTimeline(stored: unknown): Timeline | null {
  if (typeof stored !== 'object' || stored === null) return null;
  if (!decoded.has(stored)) decoded.set(stored, decodeStored(stored));
  return decoded.get(stored)!;
}

function decodeStored(stored: object): Timeline | null {
  const s = stored as Partial<StoredTimeline>;
  if (!s || (s.v !== 1 && s.v !== 2) || !Array.isArray(s.pauses) || !Array.isArray(s.insertions)) return null;
  const pauses = s.pauses.filter((p) => Array.isArray(p) && p.length === 3 && p.every(isInt));
  const insertions = s.insertions.filter(
    (i) => Array.isArray(i) && i.length === 4 && (i[0] === null || isInt(i[0])) && isInt(i[1]) && isInt(i[2]) && Array.isArray(i[3]) && i[3].every((x) => typeof x === 'string'),
  );
  if (pauses.length !== s.pauses.length || insertions.length !== s.insertions.length) return null;
  return {
    pauses: pauses.map(([afterWordIndex, startMs, endMs]) => ({ afterWordIndex, startMs, endMs })),
    insertions: insertions.map(([afterWordIndex, startMs, endMs, phones]) => ({ afterWordIndex, startMs, endMs, phones })),
    // a contour that does not decode costs the intonation only, not the pauses and breaks
    pitch: (s.v === 2 ? decodePitch(s.pitch) : null) ?? null,
  };
}

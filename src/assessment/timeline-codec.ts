/**
 * The codec of Assessment.timeline (JSON): the pauses and inserted speech a model's alignment found
 * in the utterance. Written only through `encodeTimeline`, read only through `decodeTimeline`, which
 * checks the shape so a hand-edited or older row reads as "no timeline" rather than as garbage.
 */
import type { Insertion, Pause } from '../types.js';

export interface Timeline {
  pauses: Pause[];
  insertions: Insertion[];
}

/** Version 1: {v: 1, pauses: [[afterWordIndex, startMs, endMs]], insertions: [[afterWordIndex|null, startMs, endMs, phones]]}. */
interface StoredTimeline {
  v: 1;
  pauses: [number, number, number][];
  insertions: [number | null, number, number, string[]][];
}

export function encodeTimeline(t: Timeline): StoredTimeline {
  return {
    v: 1,
    pauses: t.pauses.map((p) => [p.afterWordIndex, p.startMs, p.endMs]),
    insertions: t.insertions.map((i) => [i.afterWordIndex, i.startMs, i.endMs, i.phones]),
  };
}

const isInt = (v: unknown): v is number => Number.isInteger(v);

/** null when the column is empty or not a timeline this codec wrote. */
export function decodeTimeline(stored: unknown): Timeline | null {
  const s = stored as Partial<StoredTimeline> | null;
  if (!s || s.v !== 1 || !Array.isArray(s.pauses) || !Array.isArray(s.insertions)) return null;
  const pauses = s.pauses.filter((p) => Array.isArray(p) && p.length === 3 && p.every(isInt));
  const insertions = s.insertions.filter(
    (i) => Array.isArray(i) && i.length === 4 && (i[0] === null || isInt(i[0])) && isInt(i[1]) && isInt(i[2]) && Array.isArray(i[3]) && i[3].every((x) => typeof x === 'string'),
  );
  if (pauses.length !== s.pauses.length || insertions.length !== s.insertions.length) return null;
  return {
    pauses: pauses.map(([afterWordIndex, startMs, endMs]) => ({ afterWordIndex, startMs, endMs })),
    insertions: insertions.map(([afterWordIndex, startMs, endMs, phones]) => ({ afterWordIndex, startMs, endMs, phones })),
  };
}

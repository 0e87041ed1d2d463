/**
 * Whether the statement an LRS returns is the one we sent, by xAPI 1.0.3's Statement Comparison
 * Requirements (Data 2.3.1): differences that the exceptions to immutability allow are ignored, every
 * other difference counts. The exceptions that apply to what speechmark sends:
 * - properties the LRS assigns or may rewrite: `authority`, `stored`, `version` (and attachments,
 *   which are not part of a statement);
 * - timestamps are compared as instants (an LRS may return another time zone or precision);
 * - the case of the statement id (a UUID);
 * - a Verb's `display` and an Activity's `definition` are not part of the statement (the LRS may
 *   return its canonical ones): the object's, and those of the context's activities (grouping);
 * - an `objectType` left out where the specification gives it a default (Agent, Activity);
 * - the case of the context's language tag;
 * - a member whose value is null, left out (xAPI allows null only inside extensions, where ours has
 *   some, and some LRSs drop null members when they serialise).
 * Everything else (the actor, the verb and activity ids, the whole result with its extensions, the
 * context) must be equal as JSON values: key order and number spelling do not matter, strings do
 * (the result's duration is a string for comparison, as 2.3.1 says).
 */
import type { AnyStatement } from './statement.js';

const ASSIGNED_BY_LRS = new Set(['authority', 'stored', 'version', 'attachments']);

type Json = unknown;

/** The paths where `stored` differs from `sent` (empty: the same statement). */
export function statementDifferences(statement: AnyStatement, stored: Record<string, Json>): string[] {
  // As it went over the wire (undefined properties dropped).
  const sent = JSON.parse(JSON.stringify(statement)) as Record<string, Json>;
  const out: string[] = [];
  const keys = new Set([...Object.keys(sent), ...Object.keys(stored)].filter((k) => !ASSIGNED_BY_LRS.has(k)));
  for (const key of keys) {
    const a = sent[key];
    const b = stored[key];
    switch (key) {
      case 'id':
        if (!(typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase())) out.push('id');
        break;
      case 'timestamp':
        if (!sameInstant(a, b)) out.push('timestamp');
        break;
      case 'actor':
        diff(withDefaultType(a, 'Agent'), withDefaultType(b, 'Agent'), 'actor', out);
        break;
      case 'verb':
        diff(pick(a, ['id']), pick(b, ['id']), 'verb', out);
        break;
      case 'context':
        // A language tag is case-insensitive (RFC 5646), one of 2.3.1's case exceptions.
        diff(contextActivitiesAsIds(lowerLanguage(a)), contextActivitiesAsIds(lowerLanguage(b)), 'context', out);
        break;
      case 'object':
        diff(withoutKey(withDefaultType(a, 'Activity'), 'definition'), withoutKey(withDefaultType(b, 'Activity'), 'definition'), 'object', out);
        break;
      default:
        diff(a, b, key, out);
    }
  }
  return out;
}

function sameInstant(a: Json, b: Json): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return a === b;
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  return Number.isNaN(ta) || Number.isNaN(tb) ? a === b : ta === tb;
}

const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

function withDefaultType(v: Json, objectType: string): Json {
  return isObject(v) && v.objectType === undefined ? { ...v, objectType } : v;
}

/** The context's activities (parent, grouping, category, other) without definitions, objectType defaulted, single ones as lists. */
function contextActivitiesAsIds(v: Json): Json {
  if (!isObject(v) || !isObject(v.contextActivities)) return v;
  const lists = Object.fromEntries(Object.entries(v.contextActivities).map(([kind, acts]) => [
    kind,
    (Array.isArray(acts) ? acts : [acts]).map((act) => withoutKey(withDefaultType(act, 'Activity'), 'definition')),
  ]));
  return { ...v, contextActivities: lists };
}

function lowerLanguage(v: Json): Json {
  return isObject(v) && typeof v.language === 'string' ? { ...v, language: v.language.toLowerCase() } : v;
}

function withoutKey(v: Json, key: string): Json {
  if (!isObject(v)) return v;
  const { [key]: _dropped, ...rest } = v;
  return rest;
}

function pick(v: Json, keys: string[]): Json {
  return isObject(v) ? Object.fromEntries(keys.filter((k) => k in v).map((k) => [k, v[k]])) : v;
}

/** `path.key`, or `path["key"]` for a key that is not a plain name (an extension's IRI). */
function member(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** JSON equality with the first differing paths collected (objects by key, arrays in order). */
function diff(a: Json, b: Json, path: string, out: string[]): void {
  if (isObject(a) && isObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      // A member whose value is null and one left out say the same (our extensions carry nulls, and
      // some LRSs' serialisers drop null members).
      if ((a[key] ?? null) === null && (b[key] ?? null) === null) continue;
      diff(a[key], b[key], member(path, key), out);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) {
      out.push(`${path}.length`);
      return;
    }
    a.forEach((item, i) => diff(item, b[i], `${path}[${i}]`, out));
    return;
  }
  if (a !== b) out.push(path);
}

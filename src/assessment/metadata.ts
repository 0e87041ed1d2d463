/**
 * The codec of Utterance.metadata (JSON): the integrator's own key-value pairs, given with a
 * submission (its attempt, assignment or session id) and echoed wherever the utterance is named
 * (the API, the events, the export), so an integration needs no table of its own to map our ids
 * back to its records. The rules are Stripe's, with tighter counts: string values only, so every
 * consumer (a webhook receiver, a CSV) reads them the same way.
 *
 * Written only through `checkMetadata` (which refuses what does not fit, naming the input), read
 * only through `decodeMetadata` (which reads anything else as no metadata rather than as garbage).
 */
import { badInput } from '../errors.js';

export const MAX_METADATA_KEYS = 20;
export const MAX_METADATA_KEY_CHARS = 40;
export const MAX_METADATA_VALUE_CHARS = 500;
/** The whole object as JSON, UTF-8: it rides in every event about the utterance (webhook bodies are capped). */
export const MAX_METADATA_BYTES = 8192;

/** Key → value. */
export type Metadata = Record<string, string>;

// NUL cannot be stored in a jsonb string; other control characters are refused as in idempotency keys.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

const chars = (s: string) => [...s].length;

/**
 * The metadata of a request, checked: a JSON object of at most 20 keys (1-40 characters, not
 * "__proto__") whose values are strings of 1-500 characters, no control characters in either,
 * 8 KiB at most as JSON. Absent or null is none.
 */
export function checkMetadata(value: unknown, argument = 'input.metadata'): Metadata {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw badInput('metadata must be a JSON object of string values.', argument);
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_METADATA_KEYS) {
    throw badInput(`metadata takes at most ${MAX_METADATA_KEYS} keys (got ${entries.length}).`, argument, { maxKeys: MAX_METADATA_KEYS });
  }
  const out: [string, string][] = [];
  for (const [key, v] of entries) {
    if (key === '__proto__') {
      // Libraries on the way to the database and back (JSON codecs that assign keys) would read it as the object's prototype and drop it.
      throw badInput('metadata keys cannot be "__proto__".', argument, { key });
    }
    if (chars(key) < 1 || chars(key) > MAX_METADATA_KEY_CHARS || CONTROL.test(key)) {
      throw badInput(`metadata keys must be 1 to ${MAX_METADATA_KEY_CHARS} characters without control characters (${JSON.stringify(key.slice(0, 60))}).`, argument, {
        key: key.slice(0, 60), maxKeyChars: MAX_METADATA_KEY_CHARS,
      });
    }
    if (typeof v !== 'string') {
      throw badInput(`metadata values must be strings (the value of ${JSON.stringify(key)} is ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}).`, argument, { key });
    }
    if (chars(v) < 1 || chars(v) > MAX_METADATA_VALUE_CHARS || CONTROL.test(v)) {
      throw badInput(`metadata values must be 1 to ${MAX_METADATA_VALUE_CHARS} characters without control characters (the value of ${JSON.stringify(key)}).`, argument, {
        key, maxValueChars: MAX_METADATA_VALUE_CHARS,
      });
    }
    out.push([key, v]);
  }
  const metadata = Object.fromEntries(out);
  const bytes = Buffer.byteLength(JSON.stringify(metadata));
  if (bytes > MAX_METADATA_BYTES) {
    throw badInput(`metadata must be at most ${MAX_METADATA_BYTES} bytes as JSON (got ${bytes}).`, argument, { maxBytes: MAX_METADATA_BYTES });
  }
  return metadata;
}

/**
 * The stored column as metadata, keys sorted (jsonb keeps its own order, shortest key first, so the
 * order given is not kept; sorted, every reader sees one order); anything this codec did not write
 * reads as none.
 */
export function decodeMetadata(stored: unknown): Metadata {
  if (stored === null || typeof stored !== 'object' || Array.isArray(stored)) return {};
  const strings = Object.entries(stored as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string');
  return Object.fromEntries(metadataEntries(Object.fromEntries(strings)));
}

/** A canonical form for comparing two requests' metadata: entries sorted by key. */
export function metadataEntries(m: Metadata): [string, string][] {
  return Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

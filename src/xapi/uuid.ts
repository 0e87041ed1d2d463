import { createHash } from 'node:crypto';

/** RFC 4122 / 9562 namespace for URLs. */
export const URL_NAMESPACE = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`not a UUID: "${uuid}"`);
  return Buffer.from(hex, 'hex');
}

/** UUID version 5 (SHA-1 of namespace + name, RFC 9562 §5.5): the same name always gives the same id. */
export function uuidV5(name: string, namespace: string): string {
  const hash = createHash('sha1').update(uuidBytes(namespace)).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Namespace of statement ids. Fixed (not derived from the configurable IRI base) so that changing
 * the base never changes an id the LRS already holds.
 */
export const STATEMENT_NAMESPACE = uuidV5('https://speechmark.dev/xapi/statements', URL_NAMESPACE);

/** The statement id of an assessment: a re-send carries the same id, so the LRS keeps one copy. */
export function statementIdFor(assessmentId: string): string {
  return uuidV5(`assessment:${assessmentId.toLowerCase()}`, STATEMENT_NAMESPACE);
}

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com, symmetric scheme):
 * `webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")>`, one
 * signature per secret still valid, space-separated, so a receiver that knows either the old or the
 * new secret verifies during a rotation. A secret is `whsec_` + base64 of its key bytes.
 */
import { createHmac, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
/** 32 random bytes (the spec asks for 24 to 64). */
const SECRET_BYTES = 32;

export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/** What the admin UI shows to tell secrets apart: `whsec_` and the next 6 characters. */
export function secretPrefix(secret: string): string {
  return secret.slice(0, SECRET_PREFIX.length + 6);
}

function keyOf(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('a webhook secret starts with whsec_');
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
}

/** The `webhook-id` of an event: stable across retries and re-sends (receivers dedupe on it). */
export function webhookId(eventId: string): string {
  return `msg_${eventId.replace(/-/g, '')}`;
}

/** The event id behind a `webhook-id`, or null when it is not one of ours. */
export function eventIdOf(id: string): string | null {
  const m = /^msg_([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$/.exec(id);
  return m ? m.slice(1).join('-') : null;
}

/** One `v1,<base64>` signature. */
export function signature(secret: string, id: string, timestampSeconds: number, body: string | Buffer): string {
  const mac = createHmac('sha256', keyOf(secret));
  mac.update(`${id}.${timestampSeconds}.`);
  mac.update(body);
  return `v1,${mac.digest('base64')}`;
}

/** The three Standard Webhooks headers of one attempt, signed with every secret given. */
export function signedHeaders(
  secrets: readonly string[],
  id: string,
  timestampSeconds: number,
  body: string | Buffer,
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  if (secrets.length === 0) throw new Error('no signing secret');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': secrets.map((s) => signature(s, id, timestampSeconds, body)).join(' '),
  };
}

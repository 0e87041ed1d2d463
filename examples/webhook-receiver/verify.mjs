// Standard Webhooks signature verification (https://www.standardwebhooks.com/), no dependencies.
// Copy this file into your LMS back-end. Verify the raw body bytes as received: parsing and
// re-serialising JSON changes them and breaks the signature.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

export class WebhookError extends Error {
  /** @param {number} status HTTP status to answer with  @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The HMAC key of a `whsec_<base64>` secret (the prefix is optional). */
export function secretKey(secret) {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  if (key.length < 16) throw new Error('a webhook secret must be whsec_ followed by at least 16 base64-encoded bytes');
  return key;
}

function header(headers, name) {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The `v1` signatures of a `webhook-signature` header (several, space-separated, during secret rotation). */
function v1Signatures(headerValue) {
  const out = [];
  for (const part of headerValue.split(' ')) {
    const comma = part.indexOf(',');
    if (comma > 0 && part.slice(0, comma) === 'v1') out.push(Buffer.from(part.slice(comma + 1), 'base64'));
  }
  return out;
}

/**
 * Checks a delivery and returns { id, timestamp, payload }; throws WebhookError otherwise.
 * @param {string[]} secrets every secret currently valid (old and new while rotating)
 * @param {Record<string, string | string[] | undefined>} headers lower-case header names, as Node gives them
 * @param {Buffer} rawBody the body exactly as received
 */
export function verifyWebhook(secrets, headers, rawBody, { now = Date.now(), toleranceSeconds = DEFAULT_TOLERANCE_SECONDS } = {}) {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signature = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signature) throw new WebhookError(400, 'missing webhook-id, webhook-timestamp or webhook-signature');
  if (!/^\d{1,12}$/.test(timestamp)) throw new WebhookError(400, 'webhook-timestamp must be whole seconds since the epoch');
  // Both directions: an old message may be a replay, and a far-future one could be replayed later.
  if (Math.abs(now / 1000 - Number(timestamp)) > toleranceSeconds) throw new WebhookError(401, 'webhook-timestamp outside the tolerance');
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), rawBody]);
  const candidates = v1Signatures(signature);
  for (const secret of secrets) {
    const expected = createHmac('sha256', secretKey(secret)).update(signed).digest();
    // Lengths are public (an HMAC-SHA256 is always 32 bytes); the bytes are compared in constant time.
    if (candidates.some((c) => c.length === expected.length && timingSafeEqual(c, expected))) {
      return { id, timestamp: Number(timestamp), payload: JSON.parse(rawBody.toString('utf8')) };
    }
  }
  throw new WebhookError(401, 'no valid signature');
}

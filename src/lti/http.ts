/**
 * The outbound HTTP the LTI client uses: the outbox's guarded POST (src/outbox/http.ts), so token
 * and score requests go only where the operator's AddressPolicy allows (platform URLs are chosen
 * by an organisation's admin, the request leaves from the operator's network), time out, and
 * follow no redirects (a redirect could carry the token or the score elsewhere).
 */
import type { AddressPolicy } from '../outbox/address-policy.js';
import { getForAnswer, postForAnswer, type OutboundAnswer } from '../outbox/http.js';

export type HttpAnswer = OutboundAnswer;

export type HttpPost = (url: string, init: { headers: Record<string, string>; body: string; signal?: AbortSignal }) => Promise<HttpAnswer>;

/** A token answer is kept whole (access tokens may be long JWTs); larger answers are cut. */
const MAX_ANSWER_BYTES = 64 * 1024;

export function guardedPost(policy: AddressPolicy, timeoutMs: number): HttpPost {
  return (url, init) =>
    postForAnswer(url, init.headers, init.body, { policy, timeoutMs, signal: init.signal, keepBytes: MAX_ANSWER_BYTES, userAgent: 'speechmark-lti/1' });
}

export type HttpGet = (url: string, init: { headers: Record<string, string>; signal?: AbortSignal }) => Promise<HttpAnswer>;

/** A membership page (NRPS) is read whole up to this size; a larger one is refused, not cut. */
export const MAX_PAGE_BYTES = 4 * 1024 * 1024;

export function guardedGet(policy: AddressPolicy, timeoutMs: number): HttpGet {
  return (url, init) =>
    getForAnswer(url, init.headers, { policy, timeoutMs, signal: init.signal, keepBytes: MAX_PAGE_BYTES + 1, userAgent: 'speechmark-lti/1' });
}

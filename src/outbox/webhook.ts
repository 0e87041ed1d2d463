/**
 * The WEBHOOK channel: one attempt of a claimed delivery, as Standard Webhooks describes it. POST
 * the event's body to the endpoint with `webhook-id` (the event's, the same on every attempt),
 * `webhook-timestamp` (this attempt's) and `webhook-signature` (one per valid secret), then judge
 * the answer:
 * - 2xx: delivered;
 * - 410 Gone: the receiver wants no more; the endpoint is disabled (until an admin enables it again);
 * - an address the policy refuses: failed at once (retrying cannot help; fix the URL or the policy);
 * - anything else (3xx, other 4xx, 429, 5xx, timeout, connection error): tried again after the
 *   backoff (or the answer's Retry-After, when longer), until the attempts run out.
 * Each attempt that reached for the endpoint tells its health (AttemptRecord.endpoint): an endpoint
 * whose every attempt failed for `disableAfterFailingDays` is disabled, as Stripe and Svix do, so a
 * receiver gone for good stops costing each event a dozen attempts.
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import type { AddressPolicy } from './address-policy.js';
import { MAX_SIGNING_SECRETS } from './endpoints.js';
import { fitBody } from './events.js';
import { postJson } from './http.js';
import { retryOrFail, type RetrySchedule } from './schedule.js';
import { signedHeaders, webhookId } from './signing.js';
import type { AttemptRecord, AttemptVerdict, ClaimedDelivery } from './store.js';

export interface WebhookSettings {
  timeoutMs: number;
  maxPayloadBytes: number;
  schedule: RetrySchedule;
  policy: AddressPolicy;
  random?: () => number;
  /** An endpoint whose every attempt failed for this many days is disabled; 0 or absent: never. */
  disableAfterFailingDays?: number;
}

export async function attemptWebhook(
  prisma: PrismaClient,
  d: ClaimedDelivery,
  s: WebhookSettings,
  signal: AbortSignal,
): Promise<AttemptRecord> {
  const startedAt = new Date();
  const local = (verdict: AttemptVerdict, errorCode: string, error: string): AttemptRecord => ({
    verdict, startedAt, durationMs: 0, statusCode: null, errorCode, error, responseBody: null,
  });
  const now = new Date();
  const [event, endpoint] = await Promise.all([
    prisma.outboxEvent.findUnique({ where: { id: d.eventId }, select: { id: true, body: true } }),
    d.webhookEndpointId
      ? prisma.webhookEndpoint.findUnique({
          where: { id: d.webhookEndpointId },
          // The newest MAX_SIGNING_SECRETS only, however many an endpoint holds: the header stays bounded.
          include: {
            secrets: { where: { OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: MAX_SIGNING_SECRETS },
          },
        })
      : null,
  ]);
  // Either one going deletes the delivery too (cascade), so these are seldom stored: what the
  // attempt reports (onSettled, the log) must still say which.
  if (!event) return local({ kind: 'failed' }, 'EVENT_DELETED', 'The event no longer exists (its utterance was deleted or its learner erased since it was queued).');
  if (!endpoint) return local({ kind: 'failed' }, 'ENDPOINT_DELETED', 'The endpoint no longer exists.');
  if (endpoint.disabledAt) {
    return local({ kind: 'failed' }, 'ENDPOINT_DISABLED', `The endpoint is disabled (${endpoint.disabledReason ?? 'no reason given'}); enable it and re-send.`);
  }
  if (endpoint.secrets.length === 0) return local({ kind: 'failed' }, 'NO_SIGNING_SECRET', 'The endpoint has no valid signing secret; rotate it.');
  const body = fitBody(event.body, s.maxPayloadBytes);
  if (body === null) {
    return local(
      { kind: 'failed' },
      'PAYLOAD_TOO_LARGE',
      `The event is ${Buffer.byteLength(event.body)} bytes; SPEECHMARK_WEBHOOK_MAX_PAYLOAD_BYTES allows ${s.maxPayloadBytes}.`,
    );
  }
  const headers = signedHeaders(
    endpoint.secrets.map((x) => x.secret),
    webhookId(event.id),
    Math.floor(Date.now() / 1000),
    body,
  );
  const res = await postJson(endpoint.url, headers, Buffer.from(body), { timeoutMs: s.timeoutMs, policy: s.policy, signal, statusSuffices: true });
  const disableAfterFailingDays = s.disableAfterFailingDays ?? 0;
  const record = (verdict: AttemptVerdict, errorCode: string | null, error: string | null): AttemptRecord => ({
    verdict, startedAt, durationMs: res.durationMs, statusCode: res.statusCode, errorCode, error, responseBody: res.responseBody,
    endpoint: {
      answered: verdict.kind === 'delivered',
      disableAfterFailingDays,
      gone: res.statusCode === 410 ? `The endpoint answered 410 Gone at ${startedAt.toISOString()}.` : null,
      version: endpoint.updatedAt,
    },
  });
  // Our worker stopping, not the endpoint failing: no word on its health.
  if (res.errorCode === 'ABORTED') return { ...record({ kind: 'release' }, res.errorCode, res.error), endpoint: undefined };
  if (res.errorCode === 'ADDRESS_NOT_ALLOWED') return record({ kind: 'failed' }, res.errorCode, res.error);
  if (res.errorCode) return record(retryOrFail(d.attempts, s.schedule, null, s.random), res.errorCode, res.error);
  const status = res.statusCode!;
  if (status >= 200 && status < 300) return record({ kind: 'delivered' }, null, null);
  if (status === 410) {
    return record({ kind: 'failed' }, 'ENDPOINT_GONE', 'Answered 410 Gone: the endpoint was disabled.');
  }
  return record(retryOrFail(d.attempts, s.schedule, res.retryAfterMs, s.random), 'HTTP_STATUS', `Answered HTTP ${status}.`);
}

/**
 * Sending statements to a Learning Record Store (xAPI 1.0.3 communication, section 2.1 / 7.2):
 * `POST {endpoint}/statements` with a JSON array, Basic auth, `X-Experience-API-Version: 1.0.3`.
 *
 * The outcome tells a caller (the delivery outbox, or anyone) what to do next: 200/204 are
 * delivered; 409 means the LRS already holds a statement with that id, which with ids derived from
 * the assessment means it already has ours: delivered too. 429, 5xx, timeouts and network errors
 * are worth retrying; any other status will not change by retrying (bad credentials, a statement
 * the LRS refuses) and is reported as rejected.
 */
import type { XapiConfig } from '../config.js';
import { XAPI_VERSION, type Statement } from './statement.js';
import { appendPath } from '../outbox/http.js';

export type LrsConfig = NonNullable<XapiConfig['lrs']>;

export type LrsOutcome =
  | { kind: 'delivered'; status: number; alreadyStored: boolean }
  /** `errorCode`: why no answer came (the outbound client's code: TIMEOUT, ADDRESS_NOT_ALLOWED …), when known. */
  | { kind: 'retry'; status: number | null; reason: string; errorCode?: string }
  | { kind: 'rejected'; status: number; reason: string };

/** The same fetch-like shape as the global one, so another HTTP client (e.g. an SSRF-guarded one) can stand in. */
export type Fetch = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal?: AbortSignal }) => Promise<{ status: number; text(): Promise<string> }>;

/** The Statements resource under the LRS endpoint; a query string on the endpoint (e.g. a tenant) stays a query string. */
export function statementsUrl(endpoint: string): string {
  return appendPath(endpoint, 'statements');
}

export function lrsHeaders(lrs: LrsConfig): Record<string, string> {
  return {
    authorization: `Basic ${Buffer.from(`${lrs.username}:${lrs.password}`, 'utf8').toString('base64')}`,
    'x-experience-api-version': XAPI_VERSION,
    'content-type': 'application/json; charset=utf-8',
  };
}

/** What an LRS's answer means for the sender. */
export function classifyLrsStatus(status: number, body = ''): LrsOutcome {
  if (status === 200 || status === 204) return { kind: 'delivered', status, alreadyStored: false };
  if (status === 409) return { kind: 'delivered', status, alreadyStored: true };
  if (status === 408 || status === 429 || status >= 500) return { kind: 'retry', status, reason: `LRS answered ${status}` };
  return { kind: 'rejected', status, reason: `LRS answered ${status}: ${body.slice(0, 300)}` };
}

/** One POST of a batch; never throws for what the network or the LRS does. */
export async function postStatements(
  lrs: LrsConfig,
  statements: Statement[],
  options: { fetch?: Fetch; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<LrsOutcome> {
  const doFetch: Fetch = options.fetch ?? ((url, init) => fetch(url, init));
  try {
    const res = await doFetch(statementsUrl(lrs.endpoint), {
      method: 'POST',
      headers: lrsHeaders(lrs),
      body: JSON.stringify(statements),
      signal: options.signal
        ? AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs ?? 10_000)])
        : AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    const body = res.status >= 400 ? await res.text().catch(() => '') : '';
    return classifyLrsStatus(res.status, body);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return { kind: 'retry', status: null, reason: `LRS unreachable: ${(e as Error).message}`, ...(typeof code === 'string' ? { errorCode: code } : {}) };
  }
}

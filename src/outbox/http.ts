/**
 * One outbound POST for the outbox: a hard deadline over the whole exchange (and a shorter one to
 * open the connection), no redirects followed (a 3xx is a failed attempt, as Standard Webhooks
 * advises), every address connected to checked against the AddressPolicy at connection time, and
 * at most a little of the answer read.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressPolicy } from './address-policy.js';
import { parseRetryAfter } from './schedule.js';
import { log } from '../ops/log.js';

export type SendErrorCode = 'TIMEOUT' | 'CONNECTION_FAILED' | 'ADDRESS_NOT_ALLOWED' | 'ABORTED';

export interface PostResult {
  /** The HTTP status, or null when no answer came. */
  statusCode: number | null;
  /** Retry-After of the answer (429, 503), in ms. */
  retryAfterMs: number | null;
  /** The start of the answer's body as text (at most RESPONSE_KEEP_BYTES). */
  responseBody: string | null;
  errorCode: SendErrorCode | null;
  error: string | null;
  durationMs: number;
  /** The answer's headers (null when no answer came): a paged GET reads its Link header. */
  headers?: http.IncomingHttpHeaders | null;
}

/** Kept for the attempt log. */
export const RESPONSE_KEEP_BYTES = 1024;
/** Read (and thrown away) beyond what is kept, so the connection can be reused; more closes it. */
const RESPONSE_DRAIN_BYTES = 64 * 1024;

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 32, keepAliveMsecs: 10_000 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 32, keepAliveMsecs: 10_000 }),
};

const ABORTED_MESSAGE = 'the delivery worker stopped during the attempt';

class AddressRefused extends Error {
  readonly code = 'ADDRESS_NOT_ALLOWED';
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** dns.lookup, refusing the whole name when any address it resolves to is not allowed. */
function guardedLookup(policy: AddressPolicy) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as dns.LookupAddress[];
      for (const a of list) {
        const refusal = policy.refusal(a.address, hostname);
        if (refusal) {
          // The address for the operator; the error (stored, shown to the organisation) names the host only.
          log.warn('outbound request refused: a host name resolves to an address that is not allowed', { host: hostname, address: a.address });
          return callback(new AddressRefused(refusal) as NodeJS.ErrnoException, []);
        }
      }
      if (list.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      if (options.all) return callback(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

/** Printable text of a response body (controls other than tab and newline dropped). */
function printable(bytes: Buffer): string {
  // eslint-disable-next-line no-control-regex
  return bytes.toString('utf8').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
}

/**
 * How long a connection may take to open, within the deadline: a host that drops packets would
 * otherwise hold a delivery slot for the whole deadline on every attempt.
 */
export const CONNECT_TIMEOUT_MS = 5_000;

export interface PostOptions {
  timeoutMs: number;
  /** Opening the connection (TCP), CONNECT_TIMEOUT_MS by default; never more than timeoutMs. */
  connectTimeoutMs?: number;
  policy: AddressPolicy;
  /** Aborts the request (a worker shutting down). */
  signal?: AbortSignal;
  userAgent?: string;
  /** How much of the answer's body to keep (RESPONSE_KEEP_BYTES by default; a token answer needs it whole). */
  keepBytes?: number;
  /** POST (the default, with the body) or GET (no body: an LTI membership page). */
  method?: 'POST' | 'GET';
  /**
   * The body exactly as its UTF-8 reads, for answers that are parsed rather than shown (a GET's
   * JSON): printable() would drop characters JSON carries unescaped (U+007F), changing the data.
   */
  rawBody?: boolean;
  /**
   * Aborted once the status line has arrived, answer with it (a webhook: the status is all that
   * counts, and releasing a delivery the receiver took would send it again). Otherwise an abort is
   * ABORTED whatever arrived: a caller that reads the body (a token, an LRS's read-back) must not
   * take a body cut short for the answer.
   */
  statusSuffices?: boolean;
}

export function postJson(urlText: string, headers: Record<string, string>, body: Buffer, options: PostOptions): Promise<PostResult> {
  const started = performance.now();
  const done = (r: Omit<PostResult, 'durationMs'>): PostResult => ({ ...r, durationMs: Math.round(performance.now() - started) });
  const failed = (errorCode: SendErrorCode, error: string) =>
    done({ statusCode: null, retryAfterMs: null, responseBody: null, errorCode, error });

  const url = new URL(urlText);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // An IP literal is connected to without a lookup: check it here.
  if (net.isIP(host)) {
    const refusal = options.policy.refusal(host);
    if (refusal) return Promise.resolve(failed('ADDRESS_NOT_ALLOWED', refusal));
  }
  // A worker that already stopped sends nothing: no request is built, so none can fail unheard.
  if (options.signal?.aborted) return Promise.resolve(failed('ABORTED', ABORTED_MESSAGE));
  const secure = url.protocol === 'https:';
  return new Promise<PostResult>((resolve) => {
    let settled = false;
    /** Set once the status line arrived: from then on that status is the answer, even if the body stalls. */
    let answered: (() => PostResult) | null = null;
    const finish = (r: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const req = (secure ? https : http).request(
      url,
      {
        method: options.method ?? 'POST',
        agent: secure ? agents.https : agents.http,
        lookup: guardedLookup(options.policy) as never,
        headers: {
          ...(options.method === 'GET' ? {} : { 'content-type': 'application/json', 'content-length': String(body.length) }),
          'user-agent': options.userAgent ?? 'speechmark-webhooks/1',
          ...headers,
        },
      },
      (res) => {
        const keepBytes = options.keepBytes ?? RESPONSE_KEEP_BYTES;
        const kept: Buffer[] = [];
        let keptBytes = 0;
        let readBytes = 0;
        const answer = () =>
          done({
            statusCode: res.statusCode ?? null,
            retryAfterMs: parseRetryAfter(res.headers['retry-after']),
            responseBody: keptBytes > 0 ? (options.rawBody ? Buffer.concat(kept).toString('utf8') : printable(Buffer.concat(kept))) : null,
            errorCode: null,
            error: null,
            headers: res.headers,
          });
        answered = answer;
        res.on('data', (chunk: Buffer) => {
          readBytes += chunk.length;
          if (keptBytes < keepBytes) {
            const part = chunk.subarray(0, keepBytes - keptBytes);
            kept.push(part);
            keptBytes += part.length;
          }
          if (readBytes > Math.max(RESPONSE_DRAIN_BYTES, keepBytes)) {
            res.destroy(); // a long answer: keep what we have, drop the connection
            finish(answer());
          }
        });
        res.on('end', () => finish(answer()));
        res.on('error', () => finish(answer())); // the status arrived: that is the answer
        res.on('close', () => finish(answer()));
      },
    );
    // Listened to before anything can destroy the request: an 'error' nobody hears ends the process.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof AddressRefused || err.code === 'ADDRESS_NOT_ALLOWED') return finish(failed('ADDRESS_NOT_ALLOWED', err.message));
      finish(failed('CONNECTION_FAILED', `${err.code ? `${err.code}: ` : ''}${err.message}`));
    });
    req.on('socket', (socket) => {
      if (!socket.connecting) return; // a kept-alive connection, open already
      const connectMs = Math.min(options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS, options.timeoutMs);
      const connecting = setTimeout(() => {
        req.destroy();
        finish(failed('TIMEOUT', `could not connect within ${connectMs} ms`));
      }, connectMs);
      socket.once('connect', () => clearTimeout(connecting));
      socket.once('close', () => clearTimeout(connecting));
    });
    const deadline = setTimeout(() => {
      const answer = answered;
      req.destroy();
      finish(answer ? answer() : failed('TIMEOUT', `no answer within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    const onAbort = () => {
      const answer = options.statusSuffices ? answered : null;
      req.destroy();
      finish(answer ? answer() : failed('ABORTED', ABORTED_MESSAGE));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    req.end(body);
  });
}

/** No answer came (timeout, refused address, connection error, aborted): what postJson reports, thrown. */
export class OutboundError extends Error {
  constructor(readonly code: SendErrorCode, message: string) {
    super(message);
    this.name = 'OutboundError';
  }
}

export interface OutboundAnswer {
  status: number;
  text: string;
  durationMs: number;
  headers: http.IncomingHttpHeaders;
}

/**
 * postJson for clients that expect an answer or an exception (the LTI token and score requests, the
 * xAPI statements): the same guarded connection, timeout and no redirects, with an OutboundError
 * carrying postJson's code when no answer came.
 */
export async function postForAnswer(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: PostOptions,
): Promise<OutboundAnswer> {
  const res = await postJson(url, headers, Buffer.from(body), options);
  if (res.errorCode || res.statusCode === null) throw new OutboundError(res.errorCode ?? 'CONNECTION_FAILED', res.error ?? 'no answer');
  return { status: res.statusCode, text: res.responseBody ?? '', durationMs: res.durationMs, headers: res.headers ?? {} };
}

/**
 * postForAnswer's GET: the same guarded connection, deadline and no redirects, no body sent; the
 * answer's body as it came (its readers parse it).
 */
export function getForAnswer(url: string, headers: Record<string, string>, options: PostOptions): Promise<OutboundAnswer> {
  return postForAnswer(url, headers, '', { ...options, method: 'GET', rawBody: true });
}

/**
 * `segment` appended to the URL's path, its query kept as the query: an LTI line item's `/scores`
 * (AGS) and an LRS endpoint's `/statements` (xAPI) both sit under URLs that may carry one.
 */
export function appendPath(base: string, segment: string): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${segment}`;
  return url.toString();
}

/**
 * Sending statements to a Learning Record Store (xAPI 1.0.3 communication, section 2.1 / 7.2):
 * `POST {endpoint}/statements` with a JSON array, Basic auth, `X-Experience-API-Version: 1.0.3`.
 *
 * The outcome tells a caller (the delivery outbox, or anyone) what to do next: 200/204 are
 * delivered; 409 means the LRS already holds a statement with that id. Whether it holds ours is
 * another matter (an LRS answers 409 for a re-sent id, and for the same id with other content), so
 * `sendStatement` reads the stored one back and compares it by the specification's rules (xAPI
 * 1.0.3 Data 2.3.1): the same statement is delivered, another one is a conflict that no retry
 * mends. 429, 5xx, timeouts and network errors are worth retrying; any other status will not change
 * by retrying (bad credentials, a statement the LRS refuses) and is reported as rejected.
 */
import type { XapiConfig } from '../config.js';
import { XAPI_VERSION, type AnyStatement } from './statement.js';
import { appendPath } from '../outbox/http.js';
import { statementDifferences } from './compare.js';

export type LrsConfig = NonNullable<XapiConfig['lrs']>;

export type LrsOutcome =
  /**
   * `alreadyStored`: the LRS answered 409. `matches` then says whether the statement it returned is
   * ours (true), or that it could not be read back to compare (null: credentials that may only
   * write, an answer that is not a statement), in which case it counts as delivered as before.
   * `note`: what an admin should know about such a delivery (not compared, or voided since).
   */
  | {
    kind: 'delivered'; status: number; alreadyStored: boolean; matches?: boolean | null; note?: string;
    /** After a 409: the stored statement is not this build but the earlier one at this index (sendStatement's `earlier`). */
    earlierBuild?: number;
  }
  /** `errorCode`: why no answer came (the outbound client's code: TIMEOUT, ADDRESS_NOT_ALLOWED …), when known. */
  | { kind: 'retry'; status: number | null; reason: string; errorCode?: string }
  | { kind: 'rejected'; status: number; reason: string }
  /** The LRS holds another statement under this id (`differences`: where they differ, at most 10). */
  | { kind: 'conflict'; status: 409; reason: string; differences: string[] };

/**
 * The same fetch-like shape as the global one, so another HTTP client (e.g. an SSRF-guarded one) can
 * stand in; `headers` where the client gives them (a read's X-Experience-API-Consistent-Through).
 */
export type Fetch = (url: string, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<{
  status: number;
  text(): Promise<string>;
  headers?: { get(name: string): string | null };
}>;

export type SendOptions = { fetch?: Fetch; timeoutMs?: number; signal?: AbortSignal };

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

function deadline(options: SendOptions): AbortSignal {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  return options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
}

function unreachable(e: unknown, what: string): LrsOutcome {
  const code = (e as { code?: unknown }).code;
  return { kind: 'retry', status: null, reason: `${what}: ${(e as Error).message}`, ...(typeof code === 'string' ? { errorCode: code } : {}) };
}

const fetchOf = (options: SendOptions): Fetch => options.fetch ?? ((url, init) => fetch(url, init));

/** One POST of a batch; never throws for what the network or the LRS does. */
export async function postStatements(lrs: LrsConfig, statements: AnyStatement[], options: SendOptions = {}): Promise<LrsOutcome> {
  try {
    const res = await fetchOf(options)(statementsUrl(lrs.endpoint), {
      method: 'POST',
      headers: lrsHeaders(lrs),
      body: JSON.stringify(statements),
      signal: deadline(options),
    });
    const body = res.status >= 400 ? await res.text().catch(() => '') : '';
    return classifyLrsStatus(res.status, body);
  } catch (e) {
    return unreachable(e, 'LRS unreachable');
  }
}

/** A build of the same statement by an earlier version of speechmark, and what it lacked (for the delivery's note). */
export interface EarlierBuild {
  statement: AnyStatement;
  lacking: string;
}

/**
 * One statement to the LRS. A 409 is read back (`GET statements?statementId=…&format=exact`) and
 * compared: ours is delivered, another one under our id is a conflict. `earlier`: builds of the
 * same statement by earlier versions (same id), which the LRS may hold from before: equal to one of
 * them is ours too, delivered with `earlierBuild` saying which. Never throws for what the network
 * or the LRS does.
 */
export async function sendStatement(lrs: LrsConfig, statement: AnyStatement, options: SendOptions = {}, earlier: EarlierBuild[] = []): Promise<LrsOutcome> {
  const posted = await postStatements(lrs, [statement], options);
  if (posted.kind !== 'delivered' || !posted.alreadyStored) return posted;
  return compareWithStored(lrs, statement, options, earlier);
}

/**
 * The Statements resource's single-statement read (`statementId`, or `voidedStatementId` for a voided
 * one), in the exact form it was received. Appended as text: re-encoding the endpoint's own query (a
 * tenant, a token) could change what it names.
 */
export function statementReadUrl(endpoint: string, statementId: string, by: 'statementId' | 'voidedStatementId' = 'statementId'): string {
  const url = new URL(statementsUrl(endpoint));
  const query = `${by}=${encodeURIComponent(statementId)}&format=exact`;
  url.search = url.search && url.search !== '?' ? `${url.search}&${query}` : `?${query}`;
  return url.toString();
}

/** `consistentThrough`: the answer's X-Experience-API-Consistent-Through (ms since the epoch), null without one. */
type ReadBack = { kind: 'read'; status: number; statement: Record<string, unknown> | null; note: string | null; consistentThrough: number | null } | { kind: 'outcome'; outcome: LrsOutcome };

/** Up to when the LRS's reads are complete, by its answer (xAPI 1.0.3 communication 2.1.3, a MUST on every Statements answer). */
function consistentThrough(res: { headers?: { get(name: string): string | null } }): number | null {
  const at = Date.parse(res.headers?.get('x-experience-api-consistent-through') ?? '');
  return Number.isNaN(at) ? null : at;
}

/**
 * One read of a stored statement: the statement when the LRS returned one with our id. `after`:
 * what made the sender read (for the reasons of a read that fails).
 */
async function readStored(lrs: LrsConfig, id: string, by: 'statementId' | 'voidedStatementId', options: SendOptions, after = 'LRS answered 409'): Promise<ReadBack> {
  let res: Awaited<ReturnType<Fetch>>;
  try {
    const { 'content-type': _none, ...headers } = lrsHeaders(lrs);
    res = await fetchOf(options)(statementReadUrl(lrs.endpoint, id, by), { method: 'GET', headers, signal: deadline(options) });
  } catch (e) {
    return { kind: 'outcome', outcome: unreachable(e, `${after} and could not be read back`) };
  }
  if (res.status === 408 || res.status === 429 || res.status >= 500) {
    return { kind: 'outcome', outcome: { kind: 'retry', status: res.status, reason: `${after}, then ${res.status} to reading the stored statement back` } };
  }
  const through = consistentThrough(res);
  if (res.status !== 200) return { kind: 'read', status: res.status, statement: null, note: `the LRS answered ${res.status} to reading it back`, consistentThrough: through };
  let body: unknown;
  try {
    body = JSON.parse(await res.text());
  } catch {
    return { kind: 'read', status: 200, statement: null, note: 'the LRS answered with something that is not JSON (or over 1 MB)', consistentThrough: through };
  }
  const isOurs = typeof body === 'object' && body !== null && !Array.isArray(body)
    && typeof (body as { id?: unknown }).id === 'string' && (body as { id: string }).id.toLowerCase() === id.toLowerCase();
  // A StatementResult, or another statement: the LRS did not honour the single read; nothing to compare.
  if (!isOurs) return { kind: 'read', status: 200, statement: null, note: 'the LRS did not return the statement with this id', consistentThrough: through };
  return { kind: 'read', status: 200, statement: body as Record<string, unknown>, note: null, consistentThrough: through };
}

/**
 * Whether the endpoint is an LRS's that answers these credentials: its About resource (xAPI 1.0.3
 * communication 2.8, `GET {endpoint}/about`, which every LRS serves) answers 200 with the versions
 * it speaks. A 404 elsewhere means something only from an endpoint that passes this.
 */
export async function lrsAnswers(lrs: LrsConfig, options: SendOptions = {}): Promise<boolean> {
  try {
    const { 'content-type': _none, ...headers } = lrsHeaders(lrs);
    const res = await fetchOf(options)(appendPath(lrs.endpoint, 'about'), { method: 'GET', headers, signal: deadline(options) });
    if (res.status !== 200) return false;
    const about = JSON.parse(await res.text()) as { version?: unknown };
    return Array.isArray(about.version) && about.version.some((v) => typeof v === 'string' && v.startsWith('1.0'));
  } catch {
    return false;
  }
}

/**
 * What the LRS says of statement `id`: `held` (a read by statementId answers 200), `voided` (404 so,
 * 200 by voidedStatementId: voided already, for good), `absent` (404 to both: not readable now),
 * `unknown` (a read that does not tell: write-only credentials, another status). `consistentThrough`:
 * up to when the LRS says its reads are complete (the earlier of the two reads'), null when it does
 * not say. `after` names what led to the read; a read worth retrying is returned as that outcome.
 */
export interface StatementState {
  state: 'held' | 'voided' | 'absent' | 'unknown';
  consistentThrough: number | null;
}

export async function statementState(lrs: LrsConfig, id: string, after: string, options: SendOptions = {}): Promise<StatementState | LrsOutcome> {
  const live = await readStored(lrs, id, 'statementId', options, after);
  if (live.kind === 'outcome') return live.outcome;
  if (live.status !== 404) return { state: live.status === 200 ? 'held' : 'unknown', consistentThrough: live.consistentThrough };
  const voided = await readStored(lrs, id, 'voidedStatementId', options, after);
  if (voided.kind === 'outcome') return voided.outcome;
  const times = [live.consistentThrough, voided.consistentThrough].filter((t): t is number => t !== null);
  const through = times.length ? Math.min(...times) : null;
  return { state: voided.status === 200 ? 'voided' : voided.status === 404 ? 'absent' : 'unknown', consistentThrough: through };
}

/**
 * After a 409: the stored statement read back and compared. Ours is delivered; another is a
 * conflict. A voided one (xAPI returns it only by voidedStatementId) is compared the same way. One
 * that cannot be read (credentials that may only write, a read the LRS does not offer) counts as
 * delivered, with a note saying it was not compared.
 */
async function compareWithStored(lrs: LrsConfig, statement: AnyStatement, options: SendOptions, earlier: EarlierBuild[]): Promise<LrsOutcome> {
  const unverified = (note: string): LrsOutcome => ({
    kind: 'delivered', status: 409, alreadyStored: true, matches: null, note: `Stored already (409); not compared: ${note}.`,
  });
  let read = await readStored(lrs, statement.id, 'statementId', options);
  let voided = false;
  if (read.kind === 'read' && read.status === 404) {
    read = await readStored(lrs, statement.id, 'voidedStatementId', options);
    voided = true;
    if (read.kind === 'read' && read.status === 404) {
      return {
        kind: 'conflict', status: 409, differences: [],
        reason: `The LRS answered 409 for statement ${statement.id} but returns it neither as a statement nor as a voided one, so this one was not stored.`,
      };
    }
  }
  if (read.kind === 'outcome') return read.outcome;
  if (!read.statement) return unverified(read.note ?? 'no statement returned');
  const differences = statementDifferences(statement, read.statement);
  if (differences.length === 0) {
    return voided
      ? { kind: 'delivered', status: 409, alreadyStored: true, matches: true, note: 'Stored already (409), and voided in the LRS since.' }
      : { kind: 'delivered', status: 409, alreadyStored: true, matches: true };
  }
  // Equal to an earlier version's build of it: ours, as the LRS got it then.
  const before = earlier.findIndex((e) => statementDifferences(e.statement, read.statement!).length === 0);
  if (before >= 0) {
    return {
      kind: 'delivered', status: 409, alreadyStored: true, matches: true, earlierBuild: before,
      note: `Stored already (409) as an earlier version of speechmark built it, ${earlier[before]!.lacking}${voided ? '; voided in the LRS since' : ''}.`,
    };
  }
  const where = differences.slice(0, 10);
  return {
    kind: 'conflict', status: 409, differences: where,
    reason: `The LRS holds a different ${voided ? 'voided ' : ''}statement with id ${statement.id} (it differs at ${where.join(', ')}); statements cannot be changed, so this one was not stored.`,
  };
}

/**
 * A small Learning Record Store for tests, checking requests as a strict LRS does (xAPI 1.0.3
 * communication): `POST /xapi/statements` only, Basic auth with the configured user,
 * `X-Experience-API-Version: 1.0.x`, `Content-Type: application/json`, a statement or an array of
 * statements that validates against tests/support/xapi-schema.ts, no id twice in one batch.
 * It stores by statement id and answers 200 with the ids; a statement whose id it already holds is
 * 409 Conflict (as some LRSs answer any re-sent id). A `voided` statement voids its target. `failNext` makes the next requests 503;
 * `refuseVoidingUnknown` and `refuseVoidingOf` make it refuse voidings as stricter LRSs do.
 * `GET /xapi/statements?statementId=…` returns a stored statement as an LRS does: with `stored`,
 * `authority` and `version` added and the timestamp in another time zone and precision (what xAPI's
 * immutability exceptions allow), 404 for an id it does not hold; `readBack` makes it refuse reads
 * (credentials that may only write) or fail them.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { xapiErrors } from './xapi-schema.js';

/** An HTTP server on a free port of 127.0.0.1, and the xAPI base URL it answers under. */
async function listenXapi(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/xapi/` };
}

async function closeServer(server: http.Server | null): Promise<void> {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
}

const VOIDED_VERB = 'http://adlnet.gov/expapi/verbs/voided';

export interface LrsRequest {
  status: number;
  reason: string;
  headers: http.IncomingHttpHeaders;
  /** The request's query string ('' without one), e.g. a tenant a hosted LRS puts in its endpoint. */
  query: string;
}

export class TestLrs {
  readonly stored = new Map<string, unknown>();
  readonly requests: LrsRequest[] = [];
  failNext = 0;
  /** Ids of statements voided here: a POST of one is 409, a read by statementId 404 (xAPI 2.3.2). */
  readonly voided = new Set<string>();
  /**
   * How `GET statements?statementId=` answers: as an LRS does; with null members dropped (as some
   * LRSs serialise); as a StatementResult (an LRS that ignores the single read); 403 (write-only
   * credentials); or 503.
   */
  readBack: 'serve' | 'dropNulls' | 'statementResult' | 'forbid' | 'fail' = 'serve';
  /**
   * As some LRSs do (against xAPI 2.3.2's SHOULD NOT): refuse, with 400 for the whole batch, a
   * voiding statement whose target it does not hold as a live statement.
   */
  refuseVoidingUnknown = false;
  /** Targets whose voiding is refused (400 for the whole batch), held or not. */
  readonly refuseVoidingOf = new Set<string>();
  /**
   * How far behind its reads are: every answer's X-Experience-API-Consistent-Through (xAPI 1.0.3
   * communication 2.1.3, which every LRS sends) is this long before now.
   */
  consistencyLagMs = 0;
  private server: http.Server | null = null;
  url = '';

  constructor(readonly username = 'lrs-user', readonly password = 'lrs-secret: with colon') {}

  async start(): Promise<this> {
    ({ server: this.server, url: this.url } = await listenXapi((req, res) => void this.handle(req, res)));
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  private answer(req: http.IncomingMessage, res: http.ServerResponse, status: number, reason: string, body?: unknown): void {
    this.requests.push({ status, reason, headers: req.headers, query: new URL(req.url ?? '/', 'http://lrs').search });
    res.writeHead(status, {
      'content-type': 'application/json', 'x-experience-api-version': '1.0.3',
      'x-experience-api-consistent-through': new Date(Date.now() - this.consistencyLagMs).toISOString(),
    });
    res.end(body === undefined ? JSON.stringify({ error: reason }) : JSON.stringify(body));
  }

  private authorised(header: string | undefined): boolean {
    const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
    if (!m) return false;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':'); // the user id cannot hold a colon; the password may
    return decoded.slice(0, colon) === this.username && decoded.slice(colon + 1) === this.password;
  }

  /** One stored statement by id, as an LRS returns it (xAPI 1.0.3 communication 2.1.3). */
  private read(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    if (this.readBack === 'forbid') return this.answer(req, res, 403, 'these credentials may not read statements');
    if (this.readBack === 'fail') return this.answer(req, res, 503, 'asked to fail reads');
    const voidedId = url.searchParams.get('voidedStatementId');
    const id = voidedId ?? url.searchParams.get('statementId');
    if (!id) return this.answer(req, res, 400, 'this LRS serves single statements only');
    // A voided statement is returned only by voidedStatementId, and only a voided one is.
    const stored = (this.voided.has(id.toLowerCase()) === (voidedId !== null) ? this.stored.get(id.toLowerCase()) : undefined) as Record<string, unknown> | undefined;
    if (!stored) return this.answer(req, res, 404, `no statement ${id}`);
    if (this.readBack === 'statementResult') return this.answer(req, res, 200, 'read', { statements: [stored], more: '' });
    const timestamp = typeof stored.timestamp === 'string' ? new Date(stored.timestamp) : null;
    return this.answer(req, res, 200, 'read', {
      ...(this.readBack === 'dropNulls' ? withoutNulls(stored) as Record<string, unknown> : stored),
      // The same instant in another zone and precision, as 2.3.1 allows an LRS to return it.
      ...(timestamp ? { timestamp: `${new Date(timestamp.getTime() + 3_600_000).toISOString().slice(0, 23)}000+01:00` } : {}),
      stored: new Date().toISOString(),
      authority: { objectType: 'Agent', account: { homePage: 'http://lrs', name: this.username } },
      version: '1.0.3',
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://lrs');
    // The About resource (xAPI 1.0.3 communication 2.8), which every LRS serves, to anyone.
    if (url.pathname === '/xapi/about' && req.method === 'GET') return this.answer(req, res, 200, 'about', { version: ['1.0.3'] });
    if (url.pathname !== '/xapi/statements' || (req.method !== 'POST' && req.method !== 'GET')) return this.answer(req, res, 404, `no ${req.method} ${req.url}`);
    if (!this.authorised(req.headers.authorization)) return this.answer(req, res, 401, 'bad or missing Basic credentials');
    if (!/^1\.0(\.\d+)?$/.test(String(req.headers['x-experience-api-version'] ?? ''))) return this.answer(req, res, 400, 'missing X-Experience-API-Version');
    if (req.method === 'GET') return this.read(req, res, url);
    if (!/^application\/json(\s*;.*)?$/i.test(req.headers['content-type'] ?? '')) return this.answer(req, res, 400, `content type ${req.headers['content-type']}`);
    if (this.failNext > 0) {
      this.failNext--;
      return this.answer(req, res, 503, 'asked to fail');
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return this.answer(req, res, 400, 'body is not JSON');
    }
    const batch = Array.isArray(body) ? body : [body];
    const errors = xapiErrors(batch, true);
    if (errors.length > 0) return this.answer(req, res, 400, `invalid statements: ${errors.slice(0, 5).join('; ')}`);
    const ids = batch.map((s) => (s as { id?: string }).id);
    if (ids.some((id) => !id)) return this.answer(req, res, 400, 'this LRS wants the producer to set ids');
    if (new Set(ids).size !== ids.length) return this.answer(req, res, 400, 'an id twice in one batch');
    if (ids.some((id) => this.stored.has(id!) || this.voided.has(id!))) return this.answer(req, res, 409, 'a statement with this id is stored already');
    const refusedVoiding = (batch as { verb?: { id?: string }; object?: { id?: string } }[]).map((st) => st.verb?.id === VOIDED_VERB ? (st.object?.id ?? '').toLowerCase() : null)
      .find((target) => target !== null && (this.refuseVoidingOf.has(target) || (this.refuseVoidingUnknown && (!this.stored.has(target) || this.voided.has(target)))));
    if (refusedVoiding !== undefined) return this.answer(req, res, 400, `will not void statement ${refusedVoiding}`);
    batch.forEach((s, i) => this.stored.set(ids[i]!, s));
    // A voiding statement voids its target (xAPI 2.3.2), whether the LRS holds the target or not.
    for (const s of batch as { verb?: { id?: string }; object?: { objectType?: string; id?: string } }[]) {
      if (s.verb?.id === VOIDED_VERB && s.object?.objectType === 'StatementRef' && s.object.id) this.voided.add(s.object.id.toLowerCase());
    }
    return this.answer(req, res, 200, 'stored', ids);
  }
}

/** A JSON value with every null member of its objects left out (array items kept). */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, withoutNulls(x)]));
  return v;
}

/**
 * A link in front of a TestLrs, as the network between the server and its LRS: every request is
 * passed through, after `delayMs`, and counted in `requests`. `lose` > 0 makes the next POSTs the
 * LRS stored lose their answer on the way back (a 502 instead), `whileLost` running first (something
 * done before the sender hears anything).
 */
export class LrsLink {
  delayMs = 0;
  requests = 0;
  lose = 0;
  whileLost: () => Promise<void> = async () => undefined;
  private server: http.Server | null = null;
  url = '';

  constructor(private readonly lrs: TestLrs) {}

  async start(): Promise<this> {
    ({ server: this.server, url: this.url } = await listenXapi((req, res) => void this.pass(req, res)));
    return this;
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
  }

  private async pass(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    this.requests++;
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k))) as Record<string, string>;
    const upstream = await fetch(new URL(req.url ?? '/', this.lrs.url).toString(), {
      method: req.method, headers, ...(req.method === 'POST' ? { body: Buffer.concat(chunks) } : {}),
    });
    const body = await upstream.text();
    if (req.method === 'POST' && this.lose > 0 && upstream.status === 200) {
      this.lose--;
      await this.whileLost();
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'the LRS stored it; its answer was lost on the way' }));
      return;
    }
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
    res.end(body);
  }
}

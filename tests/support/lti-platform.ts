/**
 * A local LTI 1.3 platform's Assignment and Grade Services side, as a real LMS runs it: an OAuth 2
 * token endpoint that takes client credentials with a JWT client assertion, verified with `jose`
 * against the tool's JWKS fetched over HTTP from the tool (signature, RS256, `aud`, `exp`, a
 * lifetime of at most five minutes, `iss` = `sub` = client id, `jti` never seen before, a `kid`),
 * and line item score endpoints that check the Bearer token, the media type and every field of
 * the score. What it refuses it answers 400/401 and records in `problems`; it can be told to
 * answer 500 or to revoke its tokens, to exercise retries and token refresh. Its Names and Role
 * Provisioning Services side serves course rosters (`setRoster`) as NRPS 2.0 membership containers,
 * paged with `Link: rel="next"`, to a token of the NRPS scope that asks for the container's media type.
 * Its line items service (`lineItemsUrl`) makes gradebook columns for a token of the lineitem scope,
 * as AGS 2.0 describes (label and scoreMaximum required, 201 with the new item and its `id` URL).
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { GqlClient } from './client.js';

export const SCORE_MEDIA_TYPE = 'application/vnd.ims.lis.v1.score+json';
export const SCORE_SCOPE = 'https://purl.imsglobal.org/spec/lti-ags/scope/score';
export const NRPS_SCOPE = 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly';
export const LINEITEM_SCOPE = 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem';
export const LINEITEM_MEDIA_TYPE = 'application/vnd.ims.lis.v2.lineitem+json';
export const MEMBERSHIP_MEDIA_TYPE = 'application/vnd.ims.lti-nrps.v2.membershipcontainer+json';

/** A member as NRPS 2.0 lists one. */
export interface RosterMember {
  user_id: string;
  roles: string[];
  status?: 'Active' | 'Inactive' | 'Deleted';
  name?: string;
  given_name?: string;
  family_name?: string;
  email?: string;
}
const ISO_WITH_MS_AND_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(Z|[+-]\d{2}:\d{2})$/;

export interface ReceivedScore {
  lineItem: string;
  body: Record<string, unknown>;
  token: string;
}

export interface VerifiedAssertion {
  kid: string;
  jti: string;
  iat: number;
  exp: number;
}

export class LtiTestPlatform {
  readonly scores: ReceivedScore[] = [];
  readonly assertions: VerifiedAssertion[] = [];
  /** Everything it refused, with why: a test expects this empty. */
  readonly problems: string[] = [];
  /** Answers the next N score posts with this status before accepting again. */
  private failures: number[] = [];
  /** Issued tokens and the scope each was granted. */
  private readonly tokens = new Map<string, string>();
  private readonly rosters = new Map<string, { context: Record<string, string>; members: RosterMember[]; pageSize: number; next?: (page: number) => string }>();
  /** Roster pages served (context, page), in order. */
  readonly rosterPages: { context: string; page: number }[] = [];
  /** Answers the next N roster page requests with this status. */
  private rosterFailures: number[] = [];
  /** Line items made through the line items service, with the course they were made in. */
  readonly createdLineItems: { context: string; id: string; body: Record<string, unknown> }[] = [];
  /** Answers the next N line item creations with this status. */
  private lineItemFailures: number[] = [];
  /** Every POST to a line items container, answered or refused. */
  lineItemPosts = 0;
  /** How the next creations answer: 201 with the item (the default), 200 with a Location only, or an id on another origin. */
  private lineItemAnswers: ('location-only' | 'foreign-id')[] = [];
  private readonly seenJti = new Set<string>();
  private tool: { clientId: string; jwks: ReturnType<typeof createRemoteJWKSet> } | null = null;
  tokenLifetimeS = 3600;
  /** Bodies the next token requests are answered with (200, JSON's media type), whatever they hold. */
  private tokenAnswers: string[] = [];

  private constructor(private readonly server: http.Server, readonly url: string) {}

  static async start(): Promise<LtiTestPlatform> {
    let platform!: LtiTestPlatform;
    const server = http.createServer((req, res) => {
      platform.handle(req, res).catch((e) => {
        platform.problems.push(`handler crashed: ${(e as Error).message}`);
        res.writeHead(500).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    platform = new LtiTestPlatform(server, `http://127.0.0.1:${port}`);
    return platform;
  }

  get tokenEndpoint() {
    return `${this.url}/token`;
  }

  lineItemUrl(id: string) {
    return `${this.url}/lineitems/${id}/lineitem`;
  }

  /**
   * Both sides of an LTI registration: this platform registered in speechmark through the API (by
   * `admin`, of the server at `appUrl`), and speechmark trusted here as a tool. Returns the platform's id.
   */
  async registerWith(admin: GqlClient, appUrl: string, clientId: string, deploymentId = 'dep-1'): Promise<string> {
    const input = { name: `Test LMS ${clientId}`, issuer: this.url, clientId, deploymentId, tokenEndpoint: this.tokenEndpoint };
    const res = await admin.request(`mutation($input: RegisterLtiPlatformInput!) { registerLtiPlatform(input: $input) { id jwksPath } }`, { input });
    if (res.errors) throw new Error(`registerLtiPlatform: ${JSON.stringify(res.errors)}`);
    this.trustTool(clientId, new URL(res.data.registerLtiPlatform.jwksPath, appUrl).href);
    return res.data.registerLtiPlatform.id;
  }

  /** Register the tool as a platform admin does: its client id and its JWKS URL. */
  trustTool(clientId: string, jwksUrl: string) {
    // cooldownDuration 0: an unknown kid (after a key rotation) refetches the set at once.
    this.tool = { clientId, jwks: createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: 0 }) };
  }

  failNextScores(...statuses: number[]) {
    this.failures.push(...statuses);
  }

  /**
   * A course's roster, served at `membershipsUrl(contextId)` in pages of `pageSize`; `next` replaces
   * the Link of every page (a platform that links elsewhere, or in a loop); `servedContextId` is the
   * context id the pages say, when it is not the one in the URL.
   */
  setRoster(contextId: string, members: RosterMember[], options: { pageSize?: number; label?: string; title?: string; next?: (page: number) => string; servedContextId?: string } = {}) {
    const context = { id: options.servedContextId ?? contextId, ...(options.label ? { label: options.label } : {}), ...(options.title ? { title: options.title } : {}) };
    this.rosters.set(contextId, { context, members, pageSize: options.pageSize ?? 100, next: options.next });
  }

  membershipsUrl(contextId: string) {
    return `${this.url}/contexts/${contextId}/memberships`;
  }

  lineItemsUrl(contextId: string) {
    return `${this.url}/contexts/${contextId}/lineitems`;
  }

  failNextLineItems(...statuses: number[]) {
    this.lineItemFailures.push(...statuses);
  }

  answerNextLineItems(...answers: ('location-only' | 'foreign-id')[]) {
    this.lineItemAnswers.push(...answers);
  }

  /** The next token requests are answered 200 with these bodies (a platform answering nonsense). */
  answerNextTokens(...bodies: string[]) {
    this.tokenAnswers.push(...bodies);
  }

  failNextRosterPages(...statuses: number[]) {
    this.rosterFailures.push(...statuses);
  }

  /** Revoke every token issued so far (their holders get 401). */
  revokeTokens() {
    this.tokens.clear();
  }

  close() {
    this.server.closeAllConnections();
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const body = await new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    const path = new URL(req.url ?? '/', this.url).pathname;
    if (req.method === 'POST' && path === '/token') return this.token(req, body, res);
    const score = /^\/lineitems\/([^/]+)\/lineitem\/scores$/.exec(path);
    if (req.method === 'POST' && score) return this.score(req, score[1]!, body, res);
    const roster = /^\/contexts\/([^/]+)\/memberships$/.exec(path);
    if (req.method === 'GET' && roster) return this.roster(req, decodeURIComponent(roster[1]!), res);
    const container = /^\/contexts\/([^/]+)\/lineitems$/.exec(path);
    if (req.method === 'POST' && container) return this.createLineItem(req, decodeURIComponent(container[1]!), body, res);
    this.refuse(res, 404, `unexpected ${req.method} ${req.url}`);
  }

  private refuse(res: http.ServerResponse, status: number, problem: string, error = 'invalid_request') {
    this.problems.push(problem);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error, error_description: problem }));
  }

  private async token(req: http.IncomingMessage, body: string, res: http.ServerResponse) {
    if (!/^application\/x-www-form-urlencoded\b/.test(req.headers['content-type'] ?? '')) {
      return this.refuse(res, 400, `token request content-type ${req.headers['content-type']}`);
    }
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'client_credentials') return this.refuse(res, 400, `grant_type ${form.get('grant_type')}`, 'unsupported_grant_type');
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
      return this.refuse(res, 400, `client_assertion_type ${form.get('client_assertion_type')}`, 'invalid_client');
    }
    const scope = form.get('scope') ?? '';
    if (![SCORE_SCOPE, NRPS_SCOPE, LINEITEM_SCOPE].includes(scope)) return this.refuse(res, 400, `scope ${scope}`, 'invalid_scope');
    if (!this.tool) return this.refuse(res, 401, 'no tool registered', 'invalid_client');
    const assertion = form.get('client_assertion') ?? '';
    try {
      const header = decodeProtectedHeader(assertion);
      if (typeof header.kid !== 'string') throw new Error('no kid in the header');
      const { payload } = await jwtVerify(assertion, this.tool.jwks, {
        algorithms: ['RS256'],
        audience: this.tokenEndpoint,
        issuer: this.tool.clientId,
        subject: this.tool.clientId,
        requiredClaims: ['iat', 'exp', 'jti'],
      });
      if (payload.exp! - payload.iat! > 300) throw new Error(`assertion lives ${payload.exp! - payload.iat!} s`);
      if (this.seenJti.has(payload.jti!)) throw new Error(`jti ${payload.jti} replayed`);
      this.seenJti.add(payload.jti!);
      this.assertions.push({ kid: header.kid, jti: payload.jti!, iat: payload.iat!, exp: payload.exp! });
    } catch (e) {
      return this.refuse(res, 401, `client assertion refused: ${(e as Error).message}`, 'invalid_client');
    }
    const told = this.tokenAnswers.shift();
    if (told !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(told);
      return;
    }
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, scope);
    res.writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: this.tokenLifetimeS, scope }));
  }

  private createLineItem(req: http.IncomingMessage, contextId: string, body: string, res: http.ServerResponse) {
    this.lineItemPosts++;
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !this.tokens.has(token)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      return;
    }
    if (this.tokens.get(token) !== LINEITEM_SCOPE) return this.refuse(res, 403, `line item made with a token of scope ${this.tokens.get(token)}`);
    const failure = this.lineItemFailures.shift();
    if (failure) {
      res.writeHead(failure, { 'content-type': 'text/plain' }).end(`told to answer ${failure}`);
      return;
    }
    if (req.headers['content-type'] !== LINEITEM_MEDIA_TYPE) return this.refuse(res, 415, `line item content-type ${req.headers['content-type']}`);
    if (!(req.headers.accept ?? '').includes(LINEITEM_MEDIA_TYPE)) return this.refuse(res, 406, `line item accept ${req.headers.accept}`);
    let item: Record<string, unknown>;
    try {
      item = JSON.parse(body);
    } catch {
      return this.refuse(res, 400, 'line item body is not JSON');
    }
    const allowed = new Set(['scoreMaximum', 'label', 'resourceId', 'tag', 'resourceLinkId', 'startDateTime', 'endDateTime', 'gradesReleased']);
    const problems = Object.keys(item).filter((k) => !allowed.has(k)).map((k) => `unknown field ${k}`);
    if (typeof item.label !== 'string' || !item.label) problems.push('label must be a non-empty string');
    if (typeof item.scoreMaximum !== 'number' || !(item.scoreMaximum > 0)) problems.push('scoreMaximum must be a number above 0');
    if (problems.length) return this.refuse(res, 400, `line item refused: ${problems.join('; ')}`);
    const answer = this.lineItemAnswers.shift();
    const id = answer === 'foreign-id'
      ? `https://elsewhere.example/lineitems/${contextId}/lineitem`
      : this.lineItemUrl(`${contextId}-${this.createdLineItems.length + 1}`);
    this.createdLineItems.push({ context: contextId, id, body: item });
    if (answer === 'location-only') {
      // A relative Location and no body, as some platforms answer.
      res.writeHead(200, { location: new URL(id).pathname }).end();
      return;
    }
    res.writeHead(201, { 'content-type': LINEITEM_MEDIA_TYPE, location: id }).end(JSON.stringify({ id, ...item }));
  }

  private roster(req: http.IncomingMessage, contextId: string, res: http.ServerResponse) {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !this.tokens.has(token)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      return;
    }
    if (this.tokens.get(token) !== NRPS_SCOPE) return this.refuse(res, 403, `roster read with a token of scope ${this.tokens.get(token)}`);
    if (!(req.headers.accept ?? '').includes(MEMBERSHIP_MEDIA_TYPE)) return this.refuse(res, 406, `roster accept ${req.headers.accept}`);
    const failure = this.rosterFailures.shift();
    if (failure) {
      res.writeHead(failure, { 'content-type': 'text/plain' }).end(`told to answer ${failure}`);
      return;
    }
    const roster = this.rosters.get(contextId);
    if (!roster) return this.refuse(res, 404, `no roster for context ${contextId}`);
    const page = Number(new URL(req.url ?? '/', this.url).searchParams.get('page') ?? '0');
    this.rosterPages.push({ context: contextId, page });
    const members = roster.members.slice(page * roster.pageSize, (page + 1) * roster.pageSize);
    const headers: Record<string, string> = { 'content-type': MEMBERSHIP_MEDIA_TYPE };
    if (roster.next) headers.link = `<${roster.next(page)}>; rel="next"`;
    else if ((page + 1) * roster.pageSize < roster.members.length) {
      headers.link = `<${this.membershipsUrl(contextId)}?page=${page + 1}>; rel="next"`;
    }
    res.writeHead(200, headers).end(JSON.stringify({ id: `${this.membershipsUrl(contextId)}?page=${page}`, context: roster.context, members }));
  }

  private score(req: http.IncomingMessage, lineItem: string, body: string, res: http.ServerResponse) {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    // An expired or revoked token is the tool's to renew: 401 is normal traffic, not a problem.
    if (!token || !this.tokens.has(token)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      return;
    }
    if (this.tokens.get(token) !== SCORE_SCOPE) return this.refuse(res, 403, `score posted with a token of scope ${this.tokens.get(token)}`);
    const failure = this.failures.shift();
    if (failure) {
      res.writeHead(failure, { 'content-type': 'text/plain' }).end(`told to answer ${failure}`);
      return;
    }
    if (req.headers['content-type'] !== SCORE_MEDIA_TYPE) return this.refuse(res, 415, `score content-type ${req.headers['content-type']}`);
    let score: Record<string, unknown>;
    try {
      score = JSON.parse(body);
    } catch {
      return this.refuse(res, 400, 'score body is not JSON');
    }
    const problems = scoreProblems(score);
    if (problems.length) return this.refuse(res, 400, `score refused: ${problems.join('; ')}`);
    this.scores.push({ lineItem, body: score, token });
    res.writeHead(204).end();
  }
}

/** The AGS score's gradingProgress values (Assignment and Grade Services 2.0, "Score publish service"). */
const GRADING_PROGRESS = new Set(['FullyGraded', 'Pending', 'PendingManual', 'Failed', 'NotReady']);
/** The AGS score's activityProgress values. */
const ACTIVITY_PROGRESS = new Set(['Initialized', 'Started', 'InProgress', 'Submitted', 'Completed']);

/** Every rule of the AGS score media type that a strict platform enforces. */
export function scoreProblems(s: Record<string, unknown>): string[] {
  const p: string[] = [];
  const allowed = new Set(['userId', 'scoreGiven', 'scoreMaximum', 'comment', 'timestamp', 'activityProgress', 'gradingProgress']);
  for (const k of Object.keys(s)) if (!allowed.has(k)) p.push(`unknown field ${k}`);
  if (typeof s.userId !== 'string' || s.userId === '') p.push('userId must be a non-empty string');
  // scoreGiven is optional (a score without one reports progress only); given, it needs scoreMaximum.
  if (s.scoreMaximum !== undefined && (typeof s.scoreMaximum !== 'number' || !(s.scoreMaximum > 0))) p.push('scoreMaximum must be a number above 0');
  if (s.scoreGiven !== undefined) {
    if (s.scoreMaximum === undefined) p.push('scoreMaximum must be present when scoreGiven is');
    if (typeof s.scoreGiven !== 'number' || s.scoreGiven < 0 || (typeof s.scoreMaximum === 'number' && s.scoreGiven > s.scoreMaximum)) {
      p.push('scoreGiven must be a number within 0..scoreMaximum');
    }
  }
  if (s.comment !== undefined && typeof s.comment !== 'string') p.push('comment must be a string');
  if (typeof s.timestamp !== 'string' || !ISO_WITH_MS_AND_OFFSET.test(s.timestamp) || Number.isNaN(Date.parse(s.timestamp))) {
    p.push(`timestamp ${String(s.timestamp)} is not ISO 8601 with milliseconds and an offset`);
  }
  if (!ACTIVITY_PROGRESS.has(String(s.activityProgress))) p.push(`activityProgress ${String(s.activityProgress)}`);
  if (!GRADING_PROGRESS.has(String(s.gradingProgress))) p.push(`gradingProgress ${String(s.gradingProgress)}`);
  return p;
}

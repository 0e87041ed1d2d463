/**
 * A local LTI 1.3 platform's Assignment and Grade Services side, as a real LMS runs it: an OAuth 2
 * token endpoint that takes client credentials with a JWT client assertion, verified with `jose`
 * against the tool's JWKS fetched over HTTP from the tool (signature, RS256, `aud`, `exp`, a
 * lifetime of at most five minutes, `iss` = `sub` = client id, `jti` never seen before, a `kid`),
 * and line item score endpoints that check the Bearer token, the media type and every field of
 * the score. What it refuses it answers 400/401 and records in `problems`; it can be told to
 * answer 500 or to revoke its tokens, to exercise retries and token refresh.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

export const SCORE_MEDIA_TYPE = 'application/vnd.ims.lis.v1.score+json';
export const SCORE_SCOPE = 'https://purl.imsglobal.org/spec/lti-ags/scope/score';
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
  private readonly tokens = new Set<string>();
  private readonly seenJti = new Set<string>();
  private tool: { clientId: string; jwks: ReturnType<typeof createRemoteJWKSet> } | null = null;
  tokenLifetimeS = 3600;

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

  /** Register the tool as a platform admin does: its client id and its JWKS URL. */
  trustTool(clientId: string, jwksUrl: string) {
    // cooldownDuration 0: an unknown kid (after a key rotation) refetches the set at once.
    this.tool = { clientId, jwks: createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: 0 }) };
  }

  failNextScores(...statuses: number[]) {
    this.failures.push(...statuses);
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
    if (form.get('scope') !== SCORE_SCOPE) return this.refuse(res, 400, `scope ${form.get('scope')}`, 'invalid_scope');
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
    const token = randomBytes(24).toString('base64url');
    this.tokens.add(token);
    res.writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: this.tokenLifetimeS, scope: SCORE_SCOPE }));
  }

  private score(req: http.IncomingMessage, lineItem: string, body: string, res: http.ServerResponse) {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    // An expired or revoked token is the tool's to renew: 401 is normal traffic, not a problem.
    if (!token || !this.tokens.has(token)) {
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      return;
    }
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

/** Every rule of the AGS score media type that a strict platform enforces. */
export function scoreProblems(s: Record<string, unknown>): string[] {
  const p: string[] = [];
  const allowed = new Set(['userId', 'scoreGiven', 'scoreMaximum', 'comment', 'timestamp', 'activityProgress', 'gradingProgress']);
  for (const k of Object.keys(s)) if (!allowed.has(k)) p.push(`unknown field ${k}`);
  if (typeof s.userId !== 'string' || s.userId === '') p.push('userId must be a non-empty string');
  if (typeof s.scoreMaximum !== 'number' || !(s.scoreMaximum > 0)) p.push('scoreMaximum must be a number above 0');
  if (typeof s.scoreGiven !== 'number' || s.scoreGiven < 0 || (typeof s.scoreMaximum === 'number' && s.scoreGiven > s.scoreMaximum)) {
    p.push('scoreGiven must be a number within 0..scoreMaximum');
  }
  if (s.comment !== undefined && typeof s.comment !== 'string') p.push('comment must be a string');
  if (typeof s.timestamp !== 'string' || !ISO_WITH_MS_AND_OFFSET.test(s.timestamp) || Number.isNaN(Date.parse(s.timestamp))) {
    p.push(`timestamp ${String(s.timestamp)} is not ISO 8601 with milliseconds and an offset`);
  }
  if (s.activityProgress !== 'Completed') p.push(`activityProgress ${String(s.activityProgress)}`);
  if (!GRADING_PROGRESS.has(String(s.gradingProgress))) p.push(`gradingProgress ${String(s.gradingProgress)}`);
  return p;
}

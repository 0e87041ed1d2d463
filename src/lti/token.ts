/**
 * AGS and NRPS access tokens: OAuth 2 client credentials with a signed JWT client assertion, cached
 * per platform, signing key and scope until shortly before they expire (a day at most). A caller
 * that saw 401 or 403 with a cached token asks again with `refresh`, which drops it and gets a fresh
 * one.
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import { clientAssertion } from './assertion.js';
import { signingKey } from './keys.js';
import type { HttpPost } from './http.js';
import { requireBound } from './origins.js';

export const AGS_SCORE_SCOPE = 'https://purl.imsglobal.org/spec/lti-ags/scope/score';
const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Renew this long before `expires_in` runs out, so a token never expires on its way. */
const EXPIRY_MARGIN_MS = 60_000;
/** Platforms that send no `expires_in`: assume the common one hour. */
const DEFAULT_LIFETIME_S = 3600;
/** No token is kept longer than a day, whatever the platform says. */
const MAX_LIFETIME_S = 86_400;
/** A longer access token is refused: it travels in every request's header (JWTs from LMSs are a few KiB). */
const MAX_TOKEN_CHARS = 16_384;

export interface TokenPlatform {
  id: string;
  issuer: string;
  clientId: string;
  tokenEndpoint: string;
  audience: string | null;
  serviceOrigins: readonly string[];
}

/** The token endpoint refused or failed; `status` when it answered at all. */
export class TokenError extends Error {
  constructor(message: string, readonly status: number | null) {
    super(message);
    this.name = 'TokenError';
  }
}

interface Cached {
  token: string;
  renewAt: number;
}

export class LtiTokenClient {
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, Promise<string>>();
  constructor(
    private readonly prisma: PrismaClient,
    private readonly post: HttpPost,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A token with `scope` (by default AGS's score scope) to send to `target`; `refresh` discards a
   * cached one the platform refused. UnboundOriginError, before anything is sent, when the token
   * endpoint (which gets the signed client assertion) or `target` is on none of the platform's
   * origins (src/lti/origins.ts): checked on every call, so rows stored before the check, or made
   * unbound by a later change of the platform, send nothing either.
   */
  async token(platform: TokenPlatform, target: string, options: { refresh?: boolean; scope?: string } = {}): Promise<string> {
    requireBound(platform, 'tokenEndpoint', platform.tokenEndpoint);
    requireBound(platform, 'the service URL', target);
    const scope = options.scope ?? AGS_SCORE_SCOPE;
    const signer = await signingKey(this.prisma, platform.id, new Date(this.now()));
    // Keyed by the kid too: after a rotation the next request uses the new key at once.
    // And by what the token is asked with: after updateLtiPlatform a token of the old client or
    // endpoint is not used again, nor one of another scope.
    const key = JSON.stringify([platform.id, signer.kid, platform.clientId, platform.tokenEndpoint, platform.audience, scope]);
    if (options.refresh) this.cache.delete(key);
    this.dropExpired();
    const cached = this.cache.get(key);
    if (cached && cached.renewAt > this.now()) return cached.token;
    // Concurrent deliveries to one platform share one token request.
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.request(platform, signer, scope).then(
        (c) => {
          this.cache.set(key, c);
          return c.token;
        },
      ).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /**
   * Forgets tokens past their renewal time: the API's client lives as long as the process, and
   * platforms deleted or edited (their keys change) would otherwise keep their tokens in memory.
   */
  private dropExpired(): void {
    const now = this.now();
    for (const [key, cached] of this.cache) if (cached.renewAt <= now) this.cache.delete(key);
  }

  private async request(platform: TokenPlatform, signer: Awaited<ReturnType<typeof signingKey>>, scope: string): Promise<Cached> {
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: await clientAssertion(platform, signer, new Date(this.now())),
      scope,
    });
    const answer = await this.post(platform.tokenEndpoint, {
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: body.toString(),
    });
    if (answer.status < 200 || answer.status >= 300) {
      throw new TokenError(`token endpoint answered ${answer.status}: ${answer.text.slice(0, 300)}`, answer.status);
    }
    let parsed: { access_token?: unknown; expires_in?: unknown } | null;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      throw new TokenError('token endpoint answered with something that is not JSON', answer.status);
    }
    // Valid JSON need not be an object: `null`, a number or a string has no token either.
    if (typeof parsed !== 'object' || parsed === null || typeof parsed.access_token !== 'string' || !parsed.access_token) {
      throw new TokenError('token endpoint answered without access_token', answer.status);
    }
    // Visible ASCII, as an Authorization header can carry it (a newline or a space cannot be sent);
    // not RFC 6750's stricter b64token, which some platforms' tokens (with | or :) would fail.
    if (!/^[\x21-\x7e]+$/.test(parsed.access_token) || parsed.access_token.length > MAX_TOKEN_CHARS) {
      throw new TokenError('token endpoint answered an access_token that is not a bearer token', answer.status);
    }
    // Capped: a platform's huge expires_in would keep a token (and its cache entry) forever.
    const lifetimeMs = Math.min(MAX_LIFETIME_S, typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : DEFAULT_LIFETIME_S) * 1000;
    // A short-lived token is renewed at 90% of its life rather than a minute before it ends.
    const margin = Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 10);
    return { token: parsed.access_token, renewAt: this.now() + lifetimeMs - margin };
  }
}

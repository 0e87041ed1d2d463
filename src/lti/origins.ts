/**
 * Where a platform's credentials may go. The tool sends its signed client assertion to the token
 * endpoint and the platform's access token to its AGS and NRPS services; an address typed by an
 * admin (or stored before these checks) on another host would hand either to that host. So every
 * such URL must be on one of the platform's origins: its issuer's (LTI 1.3 issuers are https URLs
 * of the platform) and those listed in `serviceOrigins`, for platforms whose token endpoint or
 * services live elsewhere (Canvas issues as canvas.instructure.com, takes tokens at
 * sso.canvaslms.com and serves AGS on each school's domain; D2L takes tokens at auth.brightspace.com).
 * Checked when a URL is saved (BAD_USER_INPUT naming the field) and again when a request is made,
 * for rows stored before the check or made unbound by a later change of the platform.
 */
import { badInput } from '../errors.js';

/** A platform's origins hold at most this many extra entries. */
export const MAX_SERVICE_ORIGINS = 20;

export interface BoundPlatform {
  issuer: string;
  serviceOrigins: readonly string[];
}

/** The origin of an http(s) URL (scheme, host in lower case, port unless the default), or null. */
export function originOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.origin : null;
  } catch {
    return null;
  }
}

/** The origins the platform's credentials may go to: its issuer's and its serviceOrigins. */
export function platformOrigins(platform: BoundPlatform): string[] {
  const issuer = originOf(platform.issuer);
  return [...new Set([...(issuer ? [issuer] : []), ...platform.serviceOrigins])];
}

/** A URL a platform's credential would be sent to is on none of its origins. */
export class UnboundOriginError extends Error {
  readonly code = 'ORIGIN_NOT_BOUND';
  constructor(readonly field: string, readonly origin: string | null, readonly allowedOrigins: string[]) {
    super(`${field} (${origin ?? 'no http(s) origin'}) is on none of the platform's origins (${allowedOrigins.join(', ') || 'none'}): `
      + 'its issuer\'s, or one listed in serviceOrigins (updateLtiPlatform adds one the platform serves its services from).');
    this.name = 'UnboundOriginError';
  }
}

/** Throws UnboundOriginError when `url` is on none of the platform's origins; `field` names it in the message. */
export function requireBound(platform: BoundPlatform, field: string, url: string): void {
  const origin = originOf(url);
  const allowed = platformOrigins(platform);
  if (origin === null || !allowed.includes(origin)) throw new UnboundOriginError(field, origin, allowed);
}

/** requireBound for a mutation's argument: BAD_USER_INPUT naming it (`extensions.origin`, `allowedOrigins`). */
export function refuseUnbound(platform: BoundPlatform, argument: string, url: string): void {
  try {
    requireBound(platform, argument.replace(/^input\./, ''), url);
  } catch (e) {
    if (!(e instanceof UnboundOriginError)) throw e;
    throw badInput(e.message, argument, { origin: e.origin, allowedOrigins: e.allowedOrigins });
  }
}

/**
 * A stored platform's token endpoint, checked before a mutation asks it for a token on the caller's
 * behalf (a row stored before the check): BAD_USER_INPUT on `input.platformId`, naming the field.
 */
export function refuseUnboundPlatform(platform: BoundPlatform & { tokenEndpoint: string }): void {
  try {
    requireBound(platform, 'tokenEndpoint', platform.tokenEndpoint);
  } catch (e) {
    if (!(e instanceof UnboundOriginError)) throw e;
    throw badInput(`The platform's ${e.message}`, 'input.platformId', { platformField: 'tokenEndpoint', origin: e.origin, allowedOrigins: e.allowedOrigins });
  }
}

/**
 * serviceOrigins as given: each an http(s) origin alone (a URL with no path, query or fragment),
 * https unless the operator allows http; stored in URL's normal form, without repeats.
 */
export function checkServiceOrigins(values: readonly string[], allowHttp: boolean): string[] {
  const argument = 'input.serviceOrigins';
  if (values.length > MAX_SERVICE_ORIGINS) throw badInput(`At most ${MAX_SERVICE_ORIGINS} serviceOrigins.`, argument, { max: MAX_SERVICE_ORIGINS });
  const origins = values.map((value) => {
    let url: URL;
    try {
      url = new URL(value.trim());
    } catch {
      throw badInput(`serviceOrigins: ${JSON.stringify(value.slice(0, 200))} is not an absolute URL.`, argument);
    }
    const bare = (url.pathname === '/' || url.pathname === '') && !url.search && !url.hash && !url.username && !url.password;
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !bare) {
      throw badInput(`serviceOrigins: ${JSON.stringify(value.slice(0, 200))} must be an origin only, like https://lms.example.edu.`, argument);
    }
    if (url.protocol === 'http:' && !allowHttp) throw badInput(`serviceOrigins: ${url.origin} must be https:// (the platform's credentials go there).`, argument);
    return url.origin;
  });
  return [...new Set(origins)];
}

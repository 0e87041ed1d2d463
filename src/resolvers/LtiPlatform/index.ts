import type { LtiPlatformResolvers } from '../../generated/graphql.js';
import { toGlobalId } from '../../graphql/ids.js';
import { assertionAudience } from '../../lti/assertion.js';
import { jwksPath as pathOf } from '../../lti/jwks-route.js';
import { normalisedLineItemUrl } from '../../lti/platforms.js';
import { platformOrigins } from '../../lti/origins.js';

export const id: LtiPlatformResolvers['id'] = (platform) => toGlobalId('LtiPlatform', platform.id);
export const audience: LtiPlatformResolvers['audience'] = (platform) => assertionAudience(platform);
export const jwksPath: LtiPlatformResolvers['jwksPath'] = (platform) => pathOf(platform.id);
export const keys: LtiPlatformResolvers['keys'] = (platform, _args, ctx) => ctx.loaders.ltiKeysByPlatform.load(platform.id);
export const lineItems: LtiPlatformResolvers['lineItems'] = async (platform, args, ctx) => {
  const all = await ctx.loaders.ltiLineItemsByPlatform.load(platform.id);
  if (args.url == null) return all;
  // Compared as stored: normalised as createLtiLineItem normalises it (host case, default port,
  // path); what is no http(s) URL is mapped for no column.
  const url = normalisedLineItemUrl(args.url);
  return url === null ? [] : all.filter((item) => item.url === url);
};
/** The issuer's origin first, then the registered ones (src/lti/origins.ts). */
export const serviceOrigins: LtiPlatformResolvers['serviceOrigins'] = (platform) => platformOrigins(platform);

import type { LtiPlatformResolvers } from '../../generated/graphql.js';
import { toGlobalId } from '../../graphql/ids.js';
import { assertionAudience } from '../../lti/assertion.js';
import { jwksPath as pathOf } from '../../lti/jwks-route.js';

export const id: LtiPlatformResolvers['id'] = (platform) => toGlobalId('LtiPlatform', platform.id);
export const audience: LtiPlatformResolvers['audience'] = (platform) => assertionAudience(platform);
export const jwksPath: LtiPlatformResolvers['jwksPath'] = (platform) => pathOf(platform.id);
export const keys: LtiPlatformResolvers['keys'] = (platform, _args, ctx) => ctx.loaders.ltiKeysByPlatform.load(platform.id);
export const lineItems: LtiPlatformResolvers['lineItems'] = async (platform, args, ctx) => {
  const all = await ctx.loaders.ltiLineItemsByPlatform.load(platform.id);
  // The platform's mappings are few (one per graded activity) and loaded in one batch: filtered here.
  return args.url == null ? all : all.filter((item) => item.url === args.url);
};

import type { LtiPlatformResolvers } from '../../generated/graphql.js';
import { toGlobalId } from '../../graphql/ids.js';
import { assertionAudience } from '../../lti/assertion.js';
import { jwksPath as pathOf } from '../../lti/jwks-route.js';

export const id: LtiPlatformResolvers['id'] = (platform) => toGlobalId('LtiPlatform', platform.id);
export const audience: LtiPlatformResolvers['audience'] = (platform) => assertionAudience(platform);
export const jwksPath: LtiPlatformResolvers['jwksPath'] = (platform) => pathOf(platform.id);
export const keys: LtiPlatformResolvers['keys'] = (platform, _args, ctx) => ctx.loaders.ltiKeysByPlatform.load(platform.id);
export const lineItems: LtiPlatformResolvers['lineItems'] = (platform, _args, ctx) => ctx.loaders.ltiLineItemsByPlatform.load(platform.id);

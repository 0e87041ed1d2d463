import type { OrganizationResolvers } from '../../generated/graphql.js';

/**
 * Two aggregate statements (src/analytics/usage.ts); ADMIN, checked by the loader. The loader is
 * bound to the caller's organisation, the only Organization a key can reach.
 */
export const usage: OrganizationResolvers['usage'] = (_org, args, ctx) => ctx.loaders.analytics.usage(args);

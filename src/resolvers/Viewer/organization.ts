import type { ViewerResolvers } from '../../generated/graphql.js';

/** The key's own organisation, which any key may see. */
export const organization: ViewerResolvers['organization'] = (_principal, _args, ctx) => ctx.loaders.organization();

import type { RationaleResolvers } from '../../generated/graphql.js';

export const trusted: RationaleResolvers['trusted'] = (rationale) => rationale.flags.length === 0;

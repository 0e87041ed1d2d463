import type { RationaleResolvers } from '../../generated/graphql.js';
import type { RationaleFlag } from '../../types.js';

export const flags: RationaleResolvers['flags'] = (rationale) => rationale.flags as RationaleFlag[];

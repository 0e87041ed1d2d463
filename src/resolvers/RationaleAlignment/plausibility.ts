import type { RationaleAlignmentResolvers } from '../../generated/graphql.js';
import { plausibilityToGraphQL } from '../../graphql/plausibility.js';

export const plausibility: RationaleAlignmentResolvers['plausibility'] = (check) => plausibilityToGraphQL(check.plausibility);

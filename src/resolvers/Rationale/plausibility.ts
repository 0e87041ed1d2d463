import type { RationaleResolvers } from '../../generated/graphql.js';
import { plausibilityToGraphQL } from '../../graphql/plausibility.js';
import type { RationaleCheck } from '../../types.js';

export const plausibility: RationaleResolvers['plausibility'] = (rationale) =>
  plausibilityToGraphQL(rationale.plausibility as unknown as RationaleCheck['plausibility']);

import type { UtteranceResolvers } from '../../generated/graphql.js';

/** Newest first, keyset-paginated; the loader checks the key may read scores. */
export const assessments: UtteranceResolvers['assessments'] = (utterance, args, ctx) =>
  ctx.loaders.assessmentsPage(utterance.id, args);

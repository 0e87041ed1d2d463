import type { UtteranceResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';

/** Newest first, keyset-paginated; the loader checks the key may read scores. */
export const assessments: UtteranceResolvers['assessments'] = (utterance, args, ctx, info) =>
  ctx.loaders.assessmentsPage(utterance.id, pageArgs(args, info));

import type { QueryResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';

/** The review queue (ADMIN): model assessments whose rationale raised `flag` (any flag), newest first. */
export const flaggedAssessments: QueryResolvers['flaggedAssessments'] = (_parent, args, ctx, info) =>
  ctx.loaders.flaggedAssessmentsPage(pageArgs(args, info));

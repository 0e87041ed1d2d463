import type { QueryResolvers } from '../../generated/graphql.js';

/** The review queue (ADMIN): model assessments whose rationale raised `flag` (any flag), newest first. */
export const flaggedAssessments: QueryResolvers['flaggedAssessments'] = (_parent, args, ctx) =>
  ctx.loaders.flaggedAssessmentsPage(args);

import type { QueryResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';

/** What the reviewers found (ADMIN): model assessments whose rationale a person reviewed, newest first. */
export const reviewedAssessments: QueryResolvers['reviewedAssessments'] = (_parent, args, ctx, info) =>
  ctx.loaders.reviewedAssessmentsPage(pageArgs(args, info));

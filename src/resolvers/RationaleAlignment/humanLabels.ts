import type { RationaleAlignmentResolvers } from '../../generated/graphql.js';

export const humanLabels: RationaleAlignmentResolvers['humanLabels'] = async (check, _args, ctx) =>
  (await ctx.loaders.assessment.load(check.humanAssessmentId))!;

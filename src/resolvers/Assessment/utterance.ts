import type { AssessmentResolvers } from '../../generated/graphql.js';

export const utterance: AssessmentResolvers['utterance'] = async (assessment, _args, ctx) =>
  (await ctx.loaders.utterance.load(assessment.utteranceId))!;

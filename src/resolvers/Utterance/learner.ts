import type { UtteranceResolvers } from '../../generated/graphql.js';

export const learner: UtteranceResolvers['learner'] = async (utterance, _args, ctx) =>
  (await ctx.loaders.learner.load(utterance.learnerId))!;

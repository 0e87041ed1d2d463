import type { UtteranceResolvers } from '../../generated/graphql.js';

export const latestAssessment: UtteranceResolvers['latestAssessment'] = (utterance, _args, ctx) =>
  ctx.loaders.latestAssessmentByUtterance.load(utterance.id);

import type { UtteranceResolvers } from '../../generated/graphql.js';

export const humanLabels: UtteranceResolvers['humanLabels'] = (utterance, _args, ctx) =>
  ctx.loaders.latestHumanByUtterance.load(utterance.id);

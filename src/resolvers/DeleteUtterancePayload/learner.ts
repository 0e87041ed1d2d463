import type { DeleteUtterancePayloadResolvers } from '../../generated/graphql.js';

/** Read through the loader, as every learner is: ADMIN, who alone may delete, reads it. */
export const learner: DeleteUtterancePayloadResolvers['learner'] = async (payload, _args, ctx) =>
  (await ctx.loaders.learner.load(payload.learnerId))!;

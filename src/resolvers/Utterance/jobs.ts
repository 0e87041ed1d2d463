import type { UtteranceResolvers } from '../../generated/graphql.js';

export const jobs: UtteranceResolvers['jobs'] = (utterance, _args, ctx) => ctx.loaders.jobsByUtterance.load(utterance.id);

import type { OrganizationResolvers } from '../../generated/graphql.js';

/** Every learner of the caller's organisation, as weakSounds; SCORES_READ, checked by the loader. */
export const weakWords: OrganizationResolvers['weakWords'] = (_org, args, ctx) => ctx.loaders.analytics.weakWords(null, args);

import type { OrganizationResolvers } from '../../generated/graphql.js';

/** Every learner of the caller's organisation (the only Organization a key reaches); SCORES_READ, checked by the loader. */
export const weakSounds: OrganizationResolvers['weakSounds'] = (_org, args, ctx) => ctx.loaders.analytics.weakSounds(null, args);

import type { RationaleResolvers } from '../../generated/graphql.js';

/** ADMIN (the loader checks it); the reviews of a page of rationales load in one statement. */
export const review: RationaleResolvers['review'] = (rationale, _args, ctx) => ctx.loaders.reviewByRationale.load(rationale.id);

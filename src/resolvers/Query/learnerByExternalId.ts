import type { QueryResolvers } from '../../generated/graphql.js';

export const learnerByExternalId: QueryResolvers['learnerByExternalId'] = (_parent, { externalId }, ctx) =>
  ctx.loaders.learnerByExternalId.load(externalId);

import type { QueryResolvers } from '../../generated/graphql.js';
import { badInput } from '../../errors.js';
import { MAX_NODE_IDS } from '../../graphql/access.js';
import { requireScope } from '../../graphql/auth.js';

/** In the order asked, through the batched loader (one statement for the lot); the loader checks SCORES_READ. */
export const learnersByExternalIds: QueryResolvers['learnersByExternalIds'] = (_parent, { externalIds }, ctx) => {
  // Refused once whatever the ids, as nodes(ids) is: an empty list must not answer a key that may not read learners.
  requireScope(ctx.principal, 'SCORES_READ');
  if (externalIds.length > MAX_NODE_IDS) {
    throw badInput(`learnersByExternalIds takes at most ${MAX_NODE_IDS} ids (got ${externalIds.length}).`, 'externalIds', { max: MAX_NODE_IDS });
  }
  return Promise.all(externalIds.map((id) => ctx.loaders.learnerByExternalId.load(id)));
};

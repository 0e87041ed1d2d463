import type { QueryResolvers } from '../../generated/graphql.js';
import { fromGlobalId } from '../../graphql/ids.js';
import { loadVisible } from '../../graphql/access.js';

/** Any node by global id; the `__typename` tag lets Node.__resolveType answer without guessing. */
export const node: QueryResolvers['node'] = async (_parent, { id }, ctx) => {
  const parsed = fromGlobalId(id);
  if (!parsed || parsed.type === 'Organization' || parsed.type === 'ApiKey') return null;
  const row = await loadVisible(ctx, parsed.type, parsed.id);
  return row ? { ...row, __typename: parsed.type } : null;
};

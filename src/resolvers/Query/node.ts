import type { QueryResolvers } from '../../generated/graphql.js';
import { loadNode } from '../../graphql/access.js';

/** Any node by global id; rows come tagged with `__typename` for Node.__resolveType. */
export const node: QueryResolvers['node'] = (_parent, { id }, ctx) => loadNode(ctx, id) as never;

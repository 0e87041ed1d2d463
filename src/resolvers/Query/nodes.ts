import type { QueryResolvers } from '../../generated/graphql.js';
import { loadNodes } from '../../graphql/access.js';

/** Objects by global id, in the order asked, each as `node(id)` would answer it; at most 100. */
export const nodes: QueryResolvers['nodes'] = (_parent, { ids }, ctx) => loadNodes(ctx, ids) as never;

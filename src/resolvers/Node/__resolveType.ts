import type { NodeResolvers } from '../../generated/graphql.js';
import type { NodeType } from '../../graphql/ids.js';

/** Query.node tags rows with their type; everything else that implements Node comes typed. */
export const __resolveType: NodeResolvers['__resolveType'] = (node) =>
  (node as { __typename?: NodeType }).__typename ?? null;

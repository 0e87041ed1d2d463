import type { NodeResolvers } from '../../generated/graphql.js';

/** Query.node tags rows with their type; everything else that implements Node comes typed. */
export const __resolveType: NodeResolvers['__resolveType'] = (node) =>
  (node as { __typename?: 'Learner' | 'Utterance' | 'Job' | 'Assessment' | 'BulkOperation' | 'Organization' | 'ApiKey' }).__typename ?? null;

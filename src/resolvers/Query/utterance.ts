import type { QueryResolvers } from '../../generated/graphql.js';
import { findByGlobalId } from '../../graphql/access.js';

export const utterance: QueryResolvers['utterance'] = (_parent, { id }, ctx) => findByGlobalId(ctx, 'Utterance', id);

import type { QueryResolvers } from '../../generated/graphql.js';
import { findByGlobalId } from '../../graphql/access.js';

export const job: QueryResolvers['job'] = (_parent, { id }, ctx) => findByGlobalId(ctx, 'Job', id);

import type { QueryResolvers } from '../../generated/graphql.js';
import { findByGlobalId } from '../../graphql/access.js';

export const learner: QueryResolvers['learner'] = (_parent, { id }, ctx) => findByGlobalId(ctx, 'Learner', id);

import type { QueryResolvers } from '../../generated/graphql.js';
import { findByGlobalId } from '../../graphql/access.js';

export const assessment: QueryResolvers['assessment'] = (_parent, { id }, ctx) =>
  findByGlobalId(ctx, 'Assessment', id);

import type { QueryResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { fromGlobalId } from '../../graphql/ids.js';

/** ADMIN; an id of another type, another organisation or none reads as null. */
export const gradeDelivery: QueryResolvers['gradeDelivery'] = (_parent, { id }, ctx) => {
  const parsed = fromGlobalId(id);
  if (parsed?.type !== 'GradeDelivery') {
    requireScope(ctx.principal, 'ADMIN');
    return null;
  }
  return ctx.loaders.gradeDelivery.load(parsed.id);
};

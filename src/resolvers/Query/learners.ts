import type { QueryResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { findPage } from '../../graphql/pagination.js';

export const learners: QueryResolvers['learners'] = (_parent, args, ctx) => {
  requireScope(ctx.principal, 'SCORES_READ');
  return findPage(args, ({ where, orderBy, take }) =>
    ctx.services.prisma.learner.findMany({ where: { organizationId: ctx.principal.organizationId, ...where }, orderBy, take }),
  );
};

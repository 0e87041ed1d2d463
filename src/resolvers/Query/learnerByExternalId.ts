import type { QueryResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';

export const learnerByExternalId: QueryResolvers['learnerByExternalId'] = (_parent, { externalId }, ctx) => {
  requireScope(ctx.principal, 'SCORES_READ');
  const organizationId = ctx.principal.organizationId;
  return ctx.services.prisma.learner.findUnique({ where: { organizationId_externalId: { organizationId, externalId } } });
};

import type { QueryResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { rationaleAnalytics as analytics } from '../../analytics/trust.js';

export const rationaleAnalytics: QueryResolvers['rationaleAnalytics'] = (_parent, { modelVersion }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  return analytics(ctx.services.prisma, ctx.principal.organizationId, modelVersion);
};

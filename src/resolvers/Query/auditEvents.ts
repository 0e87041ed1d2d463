import type { QueryResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { findPage } from '../../graphql/pagination.js';

/** The organisation's audit log, newest first on the (organizationId, createdAt, id) index. */
export const auditEvents: QueryResolvers['auditEvents'] = (_parent, args, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  return findPage(args, ({ where, orderBy, take }) =>
    ctx.services.prisma.auditEvent.findMany({
      where: { organizationId: ctx.principal.organizationId, ...(args.action != null ? { action: args.action } : {}), ...where },
      orderBy,
      take,
    }),
  );
};

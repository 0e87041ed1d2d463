import type { QueryResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';

/** The organisation's audit log, newest first on the (organizationId, createdAt, id) index. ADMIN (the loader checks). */
export const auditEvents: QueryResolvers['auditEvents'] = (_parent, args, ctx, info) =>
  ctx.loaders.auditEventsPage(pageArgs(args, info));

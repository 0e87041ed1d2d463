import type { ViewerResolvers } from '../../generated/graphql.js';

export const organization: ViewerResolvers['organization'] = async (principal, _args, ctx) =>
  ctx.services.prisma.organization.findUniqueOrThrow({ where: { id: principal.organizationId } });

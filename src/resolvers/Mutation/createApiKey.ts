import type { MutationResolvers } from '../../generated/graphql.js';
import { createApiKey as create, requireScope } from '../../graphql/auth.js';
import { AppError } from '../../errors.js';

export const createApiKey: MutationResolvers['createApiKey'] = async (_parent, { input }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  if (input.scopes.length === 0) throw new AppError('BAD_USER_INPUT', 'An API key needs at least one scope.');
  return create(ctx.services.prisma, ctx.principal.organizationId, input.name, [...new Set(input.scopes)]);
};

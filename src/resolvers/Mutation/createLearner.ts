import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { createLearner as create } from '../../learners/create.js';

export const createLearner: MutationResolvers['createLearner'] = async (_parent, { input }, ctx) => {
  requireScope(ctx.principal, 'ASSESS_WRITE');
  return create(ctx.services.prisma, ctx.principal.organizationId, input);
};

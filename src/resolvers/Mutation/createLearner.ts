import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { AppError } from '../../errors.js';
import { isUniqueViolation } from '../../db/errors.js';
import { cleanGroups } from '../../learners/groups.js';

export const createLearner: MutationResolvers['createLearner'] = async (_parent, { input }, ctx) => {
  requireScope(ctx.principal, 'ASSESS_WRITE');
  const externalId = input.externalId.trim();
  if (!externalId || externalId.length > 200) {
    throw new AppError('BAD_USER_INPUT', 'externalId must be 1 to 200 characters.');
  }
  const groups = cleanGroups(input.groups ?? [], 'groups');
  try {
    return await ctx.services.prisma.learner.create({
      data: { organizationId: ctx.principal.organizationId, externalId, displayName: input.displayName ?? null, groups, ageGroup: input.ageGroup ?? null },
    });
  } catch (e) {
    if (isUniqueViolation(e)) throw new AppError('CONFLICT', `A learner with externalId "${externalId}" exists.`);
    throw e;
  }
};

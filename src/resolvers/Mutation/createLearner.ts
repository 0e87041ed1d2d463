import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { toGlobalId } from '../../graphql/ids.js';
import { AppError } from '../../errors.js';
import { createLearner as create } from '../../learners/create.js';
import { actorOf } from '../../admin/audit.js';

/**
 * A taken externalId is CONFLICT with `extensions.learnerId`, the existing learner's global id: an
 * ASSESS_WRITE key may submit for any learner of its organisation, so the id is what it needs
 * after a lost answer, and it tells nothing a SCORES_READ-less key could not already do with it.
 */
export const createLearner: MutationResolvers['createLearner'] = async (_parent, { input }, ctx) => {
  requireScope(ctx.principal, 'ASSESS_WRITE');
  try {
    return await create(ctx.services.prisma, ctx.principal.organizationId, input, actorOf(ctx));
  } catch (e) {
    if (e instanceof AppError && e.code === 'CONFLICT') {
      // (null when the learner was erased between the refused insert and the look-up)
      const existing = e.extensions.existingLearnerId;
      throw new AppError('CONFLICT', e.message, { externalId: e.extensions.externalId, learnerId: typeof existing === 'string' ? toGlobalId('Learner', existing) : null });
    }
    throw e;
  }
};

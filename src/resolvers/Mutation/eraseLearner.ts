import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId, toGlobalId } from '../../graphql/ids.js';
import { AudioStore } from '../../audio/store.js';
import { actorOf } from '../../admin/audit.js';
import { eraseLearner as erase } from '../../admin/erase.js';

export const eraseLearner: MutationResolvers['eraseLearner'] = async (_parent, { id }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const learnerId = expectGlobalId(id, 'Learner');
  const counts = await erase(
    ctx.services.prisma,
    new AudioStore(ctx.services.config.audioDir),
    { organizationId: ctx.principal.organizationId, learnerId },
    actorOf(ctx),
    { serverLrs: ctx.services.config.xapi.lrs },
  );
  ctx.services.wakeDelivery(); // the learner.erased or utterance.deleted event, and any voiding statements
  return { learnerId: toGlobalId('Learner', learnerId), ...counts };
};

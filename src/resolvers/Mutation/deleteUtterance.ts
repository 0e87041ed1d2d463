import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId, toGlobalId } from '../../graphql/ids.js';
import { AudioStore } from '../../audio/store.js';
import { actorOf } from '../../admin/audit.js';
import { deleteUtterance as remove } from '../../admin/erase.js';

export const deleteUtterance: MutationResolvers['deleteUtterance'] = async (_parent, { id }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const utteranceId = expectGlobalId(id, 'Utterance');
  const deleted = await remove(
    ctx.services.prisma,
    new AudioStore(ctx.services.config.audioDir),
    { organizationId: ctx.principal.organizationId, utteranceId },
    actorOf(ctx),
    { serverLrs: ctx.services.config.xapi.lrs },
  );
  ctx.services.wakeDelivery(); // the learner.erased or utterance.deleted event, and any voiding statements
  return { utteranceId: toGlobalId('Utterance', utteranceId), ...deleted };
};

import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { actorOf } from '../../admin/audit.js';
import { setAudioRetention as set } from '../../assessment/audio-retention.js';

export const setAudioRetention: MutationResolvers['setAudioRetention'] = (_parent, { days }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  return set(ctx.services.prisma, ctx.principal.organizationId, days ?? null, actorOf(ctx));
};

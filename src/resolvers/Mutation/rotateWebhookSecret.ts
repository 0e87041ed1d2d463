import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { rotateSecret } from '../../outbox/endpoints.js';

export const rotateWebhookSecret: MutationResolvers['rotateWebhookSecret'] = (_parent, args, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  return rotateSecret(
    ctx.services.prisma,
    { organizationId: ctx.principal.organizationId, id: expectGlobalId(args.id, 'WebhookEndpoint') },
    { expireOldAfterSeconds: args.expireOldAfterSeconds ?? 86400 },
    actorOf(ctx),
  );
};

import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { revokeApiKey as revoke } from '../../admin/keys.js';

/** The organisation's last active ADMIN key is protected (CONFLICT); see src/admin/keys.ts. */
export const revokeApiKey: MutationResolvers['revokeApiKey'] = async (_parent, { id }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const where = { organizationId: ctx.principal.organizationId, id: expectGlobalId(id, 'ApiKey') };
  const { apiKey } = await revoke(ctx.services.prisma, where, actorOf(ctx), { protectLastAdmin: true });
  return apiKey;
};

import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { createLineItem } from '../../lti/line-items-service.js';
import { guardedPost } from '../../lti/http.js';

/** ADMIN. An existing line item by `url`, or one made in the course's gradebook from `lineItemsUrl`. */
export const createLtiLineItem: MutationResolvers['createLtiLineItem'] = (_parent, { input }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const { prisma, config, webhookPolicy, ltiTokens } = ctx.services;
  const post = guardedPost(webhookPolicy, config.webhookTimeoutMs);
  return createLineItem(
    { prisma, tokens: ltiTokens, post, policy: webhookPolicy, allowHttp: config.webhookAllowHttp },
    ctx.principal.organizationId,
    { ...input, platformId: expectGlobalId(input.platformId, 'LtiPlatform') },
    actorOf(ctx),
  );
};

import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { AppError } from '../../errors.js';
import { createLtiLineItem as create } from '../../lti/platforms.js';
import { createLineItemOnPlatform } from '../../lti/line-items-service.js';
import { guardedPost } from '../../lti/http.js';
import { LtiTokenClient } from '../../lti/token.js';

/** ADMIN. An existing line item by `url`, or one made in the course's gradebook from `lineItemsUrl`. */
export const createLtiLineItem: MutationResolvers['createLtiLineItem'] = (_parent, { input }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const { prisma, config, webhookPolicy } = ctx.services;
  const platformId = expectGlobalId(input.platformId, 'LtiPlatform');
  const actor = actorOf(ctx.principal);
  if ((input.url == null) === (input.lineItemsUrl == null)) {
    throw new AppError('BAD_USER_INPUT', 'Give url (a line item that exists) or lineItemsUrl (to make one), not both.', { field: 'url' });
  }
  if (input.url != null) {
    if (input.resourceId != null || input.tag != null) {
      throw new AppError('BAD_USER_INPUT', 'resourceId and tag are for a line item made now (lineItemsUrl).', { field: input.resourceId != null ? 'resourceId' : 'tag' });
    }
    return create(prisma, ctx.principal.organizationId, { platformId, url: input.url, aspect: input.aspect, scoreMaximum: input.scoreMaximum, label: input.label }, actor);
  }
  const post = guardedPost(webhookPolicy, config.webhookTimeoutMs);
  return createLineItemOnPlatform(
    { prisma, tokens: new LtiTokenClient(prisma, post), post, policy: webhookPolicy, allowHttp: config.webhookAllowHttp },
    ctx.principal.organizationId,
    { platformId, lineItemsUrl: input.lineItemsUrl!, aspect: input.aspect, scoreMaximum: input.scoreMaximum, label: input.label, resourceId: input.resourceId, tag: input.tag },
    actor,
  );
};

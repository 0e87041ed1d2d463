import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { syncLtiMembers as sync } from '../../lti/members.js';
import { guardedGet } from '../../lti/http.js';

/**
 * ADMIN. The platform's requests go out as the delivery workers' do: the operator's address policy,
 * the webhook timeout, no redirects. The NRPS token comes from the process's cache, so syncs within
 * its life share one.
 */
export const syncLtiMembers: MutationResolvers['syncLtiMembers'] = async (_parent, { input }, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const { prisma, config, webhookPolicy, ltiTokens } = ctx.services;
  const result = await sync(
    {
      prisma,
      tokens: ltiTokens,
      get: guardedGet(webhookPolicy, config.webhookTimeoutMs),
      policy: webhookPolicy,
      allowHttp: config.webhookAllowHttp,
    },
    { organizationId: ctx.principal.organizationId, platformId: expectGlobalId(input.platformId, 'LtiPlatform'), contextMembershipsUrl: input.contextMembershipsUrl, group: input.group },
    actorOf(ctx),
  );
  const { context, ...counts } = result;
  return { ...counts, contextId: context.id, contextLabel: context.label, contextTitle: context.title };
};

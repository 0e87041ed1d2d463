/**
 * `submitUtterance(input: {lti: {lineItemId, userId}})`: the line item must be one of the
 * organisation's (checked for the tenant only, like the learner: a writing key need not read it);
 * the LTI user id is the one given, else the learner's externalId. Written in the submit's own
 * transaction, so a refused submit leaves no request behind.
 */
import type { Prisma, Utterance } from '../generated/prisma/client.js';
import type { LtiScoreRequestInput } from '../generated/graphql.js';
import type { RequestContext } from '../graphql/context.js';
import { expectGlobalId } from '../graphql/ids.js';
import { AppError } from '../errors.js';
import { ltiUserId } from './platforms.js';

/** A line item of the caller's organisation and the LTI user the score is for. */
export interface LtiScoreRequest {
  lineItemId: string;
  userId: string;
}

export async function ltiScoreRequest(ctx: RequestContext, input: LtiScoreRequestInput, learner: { externalId: string }): Promise<LtiScoreRequest> {
  const lineItem = await ctx.loaders.writeTarget.ltiLineItem.load(expectGlobalId(input.lineItemId, 'LtiLineItem'));
  if (!lineItem) throw new AppError('NOT_FOUND', `No LtiLineItem with id "${input.lineItemId}".`);
  return { lineItemId: lineItem.id, userId: ltiUserId(input.userId, learner) };
}

/** In the submit's transaction (src/assessment/submit.ts): the score request, beside its utterance. */
export async function writeLtiSubmission(tx: Prisma.TransactionClient, utterance: Utterance, lti: LtiScoreRequest): Promise<void> {
  await tx.ltiSubmission.create({ data: { organizationId: utterance.organizationId, utteranceId: utterance.id, ...lti } });
}

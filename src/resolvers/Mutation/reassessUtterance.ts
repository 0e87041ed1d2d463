import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { AppError } from '../../errors.js';
import { reassessUtterance as reassess } from '../../assessment/reassess.js';
import { checkIdempotencyKey } from '../../assessment/submit.js';
import { checkModelVersion } from '../../assessment/model-version.js';

/** A new job for a stored utterance (on the model version asked for, when known); its earlier assessments stay. */
export const reassessUtterance: MutationResolvers['reassessUtterance'] = async (_parent, { utteranceId, modelVersion, idempotencyKey }, ctx) => {
  requireScope(ctx.principal, 'ASSESS_WRITE');
  const utterance = await ctx.loaders.writeTarget.utterance.load(expectGlobalId(utteranceId, 'Utterance'));
  if (!utterance) throw new AppError('NOT_FOUND', `No Utterance with id "${utteranceId}".`);
  const key = checkIdempotencyKey(idempotencyKey, 'idempotencyKey'); // refuse a bad key before anything else is looked up
  const requestedModelVersion = await checkModelVersion(ctx.services.modelVersions, modelVersion, 'modelVersion', async () =>
    key != null && (await ctx.services.prisma.job.count({ where: { organizationId: utterance.organizationId, idempotencyKey: key } })) > 0);
  const { job, replayed } = await reassess(ctx.services.prisma, {
    organizationId: utterance.organizationId,
    utteranceId: utterance.id,
    requestedModelVersion,
    idempotencyKey,
    maxAttempts: ctx.services.config.jobMaxAttempts,
  });
  if (!replayed) ctx.services.wakeWorker();
  return job;
};

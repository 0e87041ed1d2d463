import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { AppError } from '../../errors.js';
import { createAssessmentJob } from '../../assessment/submit.js';
import { notifyJobChanged } from '../../events/notify.js';
import { checkModelVersion } from '../../assessment/model-version.js';

/** A new job for a stored utterance (on the model version asked for, when known); its earlier assessments stay. */
export const reassessUtterance: MutationResolvers['reassessUtterance'] = async (_parent, { utteranceId, modelVersion }, ctx) => {
  requireScope(ctx.principal, 'ASSESS_WRITE');
  const utterance = await ctx.loaders.writeTarget.utterance.load(expectGlobalId(utteranceId, 'Utterance'));
  if (!utterance) throw new AppError('NOT_FOUND', `No Utterance with id "${utteranceId}".`);
  const requestedModelVersion = await checkModelVersion(ctx.services.modelVersions, modelVersion);
  const job = await ctx.services.prisma.$transaction(async (tx) => {
    const created = await createAssessmentJob(tx, {
      organizationId: utterance.organizationId,
      utteranceId: utterance.id,
      maxAttempts: ctx.services.config.jobMaxAttempts,
      priority: 'INTERACTIVE', // one utterance, asked for by someone who waits for it
      requestedModelVersion,
    });
    await notifyJobChanged(tx, created.id);
    return created;
  });
  ctx.services.wakeWorker();
  return job;
};

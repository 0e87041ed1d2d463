import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { readUpload } from '../../graphql/upload.js';
import { AppError } from '../../errors.js';
import { checkIdempotencyKey, submitRecording } from '../../assessment/submit.js';
import { ltiScoreRequest } from '../../lti/submission.js';
import { checkModelVersion } from '../../assessment/model-version.js';
import { checkMetadata } from '../../assessment/metadata.js';

/**
 * The learner must be visible to the caller; everything else (the key, the text, the audio, the
 * one transaction that writes the utterance with its job) is submitRecording's, shared with the
 * dataset importer.
 */
export const submitUtterance: MutationResolvers['submitUtterance'] = async (_parent, { input }, ctx) => {
  requireScope(ctx.principal, 'ASSESS_WRITE');
  const { prisma, config, intake } = ctx.services;
  const learner = await ctx.loaders.writeTarget.learner.load(expectGlobalId(input.learnerId, 'Learner'));
  if (!learner) throw new AppError('NOT_FOUND', `No Learner with id "${input.learnerId}".`);
  const key = checkIdempotencyKey(input.idempotencyKey); // refuse a bad key before reading the upload
  const metadata = checkMetadata(input.metadata); // and bad metadata
  const requestedModelVersion = await checkModelVersion(ctx.services.modelVersions, input.modelVersion, 'input.modelVersion', async () => // and a version no worker runs
    key != null && (await prisma.utterance.count({ where: { organizationId: ctx.principal.organizationId, idempotencyKey: key } })) > 0);
  const lti = input.lti ? await ltiScoreRequest(ctx, input.lti, learner) : null; // and a bad line item
  const audio = await readUpload(input.audio, config.maxUploadBytes);
  const result = await submitRecording(
    { prisma, intake, jobMaxAttempts: config.jobMaxAttempts },
    {
      organizationId: ctx.principal.organizationId,
      learnerId: learner.id,
      referenceText: input.referenceText,
      audio,
      idempotencyKey: input.idempotencyKey,
      metadata,
      requestedModelVersion,
      lti,
    },
  );
  if (!result.replayed) {
    ctx.services.wakeWorker();
    ctx.services.wakeDelivery(); // its utterance.submitted event
  }
  return result;
};

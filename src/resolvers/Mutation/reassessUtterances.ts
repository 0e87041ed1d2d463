import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { AppError } from '../../errors.js';
import { startBulkReassessment } from '../../assessment/bulk.js';
import { checkModelVersion } from '../../assessment/model-version.js';
import { checkIdempotencyKey } from '../../assessment/submit.js';
import { actorOf } from '../../admin/audit.js';

/** Bulk re-assessment (src/assessment/bulk.ts); the learner, when named, is found through the tenant's loader. */
export const reassessUtterances: MutationResolvers['reassessUtterances'] = async (_parent, { input }, ctx) => {
  requireScope(ctx.principal, 'ASSESS_WRITE');
  let learnerId: string | null = null;
  if (input.learnerId != null) {
    const learner = await ctx.loaders.writeTarget.learner.load(expectGlobalId(input.learnerId, 'Learner'));
    if (!learner) throw new AppError('NOT_FOUND', `No Learner with id "${input.learnerId}".`);
    learnerId = learner.id;
  }
  const key = checkIdempotencyKey(input.idempotencyKey);
  const requestedModelVersion = await checkModelVersion(ctx.services.modelVersions, input.modelVersion, 'input.modelVersion', async () =>
    key != null && (await ctx.services.prisma.bulkOperation.count({ where: { organizationId: ctx.principal.organizationId, idempotencyKey: key } })) > 0);
  const op = await startBulkReassessment(ctx.services.prisma, {
    organizationId: ctx.principal.organizationId,
    actor: actorOf(ctx),
    learnerId,
    groupExternalId: input.groupExternalId ?? null,
    wholeOrganisation: input.wholeOrganisation ?? null,
    since: input.since ?? null,
    onlyFailed: input.onlyFailed ?? false,
    failedWithCode: input.failedWithCode ?? null,
    requestedModelVersion,
    postGrades: input.postGrades ?? false,
    sendStatements: input.sendStatements ?? false,
    idempotencyKey: input.idempotencyKey ?? null,
    maxAttempts: ctx.services.config.jobMaxAttempts,
    inRequestMs: ctx.services.config.bulkEnqueueInRequestMs,
  });
  ctx.services.wakeWorker();
  return op;
};

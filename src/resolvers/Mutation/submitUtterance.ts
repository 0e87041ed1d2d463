import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { readUpload } from '../../graphql/upload.js';
import { AppError } from '../../errors.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { RequestContext } from '../../graphql/context.js';

/**
 * Validate everything first (learner, text, audio), then write the utterance and its job in one
 * transaction: a refused submit leaves no row behind, an accepted one is never without its job.
 */
export const submitUtterance: MutationResolvers['submitUtterance'] = async (_parent, { input }, ctx) => {
  requireScope(ctx.principal, 'ASSESS_WRITE');
  const { prisma, config, intake } = ctx.services;
  const organizationId = ctx.principal.organizationId;
  const learner = await ctx.loaders.writeTarget.learner.load(expectGlobalId(input.learnerId, 'Learner'));
  if (!learner) throw new AppError('NOT_FOUND', `No Learner with id "${input.learnerId}".`);
  const idempotencyKey = input.idempotencyKey?.trim() || null;

  const bytes = await readUpload(input.audio, config.maxUploadBytes);
  if (idempotencyKey) {
    const earlier = await replay(ctx, idempotencyKey);
    if (earlier) return earlier;
  }
  const prepared = await intake.prepare(bytes, input.referenceText);

  try {
    const { utterance, job } = await prisma.$transaction(async (tx) => {
      const utterance = await tx.utterance.create({
        data: { organizationId, learnerId: learner.id, idempotencyKey, ...prepared.utterance, referenceWords: prepared.utterance.referenceWords as never },
      });
      const job = await tx.job.create({
        data: { organizationId, utteranceId: utterance.id, maxAttempts: config.jobMaxAttempts },
      });
      return { utterance, job };
    });
    ctx.services.wakeWorker();
    return { utterance, job, replayed: false };
  } catch (e) {
    // Two concurrent retries with one key: the loser returns the winner's result.
    const earlier = idempotencyKey && isUniqueViolation(e) ? await replay(ctx, idempotencyKey) : null;
    if (earlier) return earlier;
    throw e;
  }
};

async function replay(ctx: RequestContext, idempotencyKey: string) {
  const organizationId = ctx.principal.organizationId;
  const utterance = await ctx.services.prisma.utterance.findUnique({
    where: { organizationId_idempotencyKey: { organizationId, idempotencyKey } },
    include: { jobs: { orderBy: { createdAt: 'asc' }, take: 1 } },
  });
  if (!utterance) return null;
  const { jobs, ...row } = utterance;
  return { utterance: row, job: jobs[0]!, replayed: true };
}

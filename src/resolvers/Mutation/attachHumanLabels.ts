import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId, toGlobalId } from '../../graphql/ids.js';
import { actorOf, recordAudit } from '../../admin/audit.js';
import { AppError, badInput } from '../../errors.js';
import { validateHumanLabels, writeHumanLabels } from '../../assessment/human.js';
import type { ReferenceWord } from '../../types.js';

const MAX_RATER_CHARS = 200;

function normaliseRater(rater: string | null | undefined): string | null {
  const trimmed = rater?.trim() ?? '';
  if (trimmed.length > MAX_RATER_CHARS) throw badInput(`rater must be at most ${MAX_RATER_CHARS} characters.`, 'rater', { max: MAX_RATER_CHARS });
  return trimmed || null;
}

/**
 * Validate everything before writing; then the HUMAN assessment and the re-checked model
 * rationales go in one transaction with the audit event, so a refused or failed attach leaves
 * nothing behind.
 */
export const attachHumanLabels: MutationResolvers['attachHumanLabels'] = async (_parent, args, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const utterance = await ctx.loaders.utterance.load(expectGlobalId(args.utteranceId, 'Utterance'));
  if (!utterance) throw new AppError('NOT_FOUND', `No Utterance with id "${args.utteranceId}".`);
  const labels = validateHumanLabels(args.labels, utterance.referenceWords as unknown as ReferenceWord[]);
  const rater = normaliseRater(args.rater);
  const prisma = ctx.services.prisma;
  const organizationId = ctx.principal.organizationId;
  const id = await prisma.$transaction(async (tx) => {
    const { id, gradesReposted } = await writeHumanLabels(tx, { organizationId, utterance, labels, rater });
    await recordAudit(tx, {
      organizationId, actor: actorOf(ctx), action: 'humanLabels.attached', targetType: 'Utterance', targetId: utterance.id,
      details: { assessmentId: toGlobalId('Assessment', id), rater, wordLevel: labels.words !== null, gradesReposted },
    });
    return id;
  }, { timeout: 60_000, maxWait: 10_000 }); // a re-grade batch may hold the user's grade lock for a while
  ctx.services.wakeDelivery(); // its humanLabels.attached event, and a grade posted again
  return (await ctx.loaders.assessment.load(id))!;
};

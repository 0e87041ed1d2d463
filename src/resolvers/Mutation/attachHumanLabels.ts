import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { AppError } from '../../errors.js';
import { validateHumanLabels, writeHumanLabels } from '../../assessment/human.js';
import type { ReferenceWord } from '../../types.js';

const MAX_RATER_CHARS = 200;

function normaliseRater(rater: string | null | undefined): string | null {
  const trimmed = rater?.trim() ?? '';
  if (trimmed.length > MAX_RATER_CHARS) throw new AppError('BAD_USER_INPUT', `rater must be at most ${MAX_RATER_CHARS} characters.`);
  return trimmed || null;
}

/**
 * Validate everything before writing; then the HUMAN assessment and the re-checked model
 * rationales go in one transaction, so a refused or failed attach leaves nothing behind.
 */
export const attachHumanLabels: MutationResolvers['attachHumanLabels'] = async (_parent, args, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const utterance = await ctx.loaders.utterance.load(expectGlobalId(args.utteranceId, 'Utterance'));
  if (!utterance) throw new AppError('NOT_FOUND', `No Utterance with id "${args.utteranceId}".`);
  const labels = validateHumanLabels(args.labels, utterance.referenceWords as unknown as ReferenceWord[]);
  const rater = normaliseRater(args.rater);
  const prisma = ctx.services.prisma;
  const id = await prisma.$transaction((tx) =>
    writeHumanLabels(tx, { organizationId: ctx.principal.organizationId, utterance, labels, rater }),
  );
  return (await ctx.loaders.assessment.load(id))!;
};

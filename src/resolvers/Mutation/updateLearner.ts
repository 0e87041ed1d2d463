import type { MutationResolvers, UpdateLearnerInput } from '../../generated/graphql.js';
import { asWritten } from '../../graphql/access.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { AppError } from '../../errors.js';
import { applyGroupChange, changesGroups } from '../../learners/groups.js';
import { checkDisplayName } from '../../learners/create.js';

/**
 * ASSESS_WRITE, like createLearner; a key without SCORES_READ reads back only what it wrote (access.ts).
 * The learner's row is locked while its groups are edited, so
 * two concurrent addGroups/removeGroups both apply (neither overwrites the other's).
 */
export const updateLearner: MutationResolvers['updateLearner'] = async (_parent, { id, input }, ctx) => {
  requireScope(ctx.principal, 'ASSESS_WRITE');
  const learnerId = expectGlobalId(id, 'Learner');
  const { organizationId } = ctx.principal;
  const touchesGroups = changesGroups(input);
  checkDisplayName(input.displayName);
  const notFound = () => new AppError('NOT_FOUND', `No Learner with id "${id}".`);
  return ctx.services.prisma.$transaction(async (tx) => {
    const [row] = await tx.$queryRaw<{ groups: string[] }[]>`
      SELECT groups FROM "Learner" WHERE id = ${learnerId}::uuid AND "organizationId" = ${organizationId}::uuid FOR UPDATE`;
    if (!row) throw notFound();
    const updated = await tx.learner.update({
      where: { id: learnerId },
      data: {
        ...(input.displayName !== undefined ? { displayName: input.displayName } : {}),
        ...(input.ageGroup !== undefined ? { ageGroup: input.ageGroup } : {}),
        ...(touchesGroups ? { groups: applyGroupChange(row.groups, input) } : {}),
      },
    });
    return asWritten(ctx, updated, writtenFields(input));
  });
};

/**
 * What the input set outright, so a key without SCORES_READ may read it back. Not the groups after
 * addGroups/removeGroups: the resulting list holds groups the key did not send.
 */
function writtenFields(input: UpdateLearnerInput): ('id' | 'displayName' | 'ageGroup' | 'groups')[] {
  const fields: ('id' | 'displayName' | 'ageGroup' | 'groups')[] = ['id'];
  if (input.displayName !== undefined) fields.push('displayName');
  if (input.ageGroup !== undefined) fields.push('ageGroup');
  if (input.groups != null) fields.push('groups'); // replaced outright (never with addGroups/removeGroups)
  return fields;
}

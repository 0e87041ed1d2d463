import { AppError } from '../errors.js';

/** A learner belongs to at most this many groups. */
export const MAX_GROUPS = 50;
/** A group's externalId is 1 to this many characters. */
export const MAX_GROUP_LENGTH = 200;

/**
 * Group ids as the LMS sent them, trimmed (like externalId) and deduplicated in the order given;
 * an empty one, one over MAX_GROUP_LENGTH characters, or more than MAX_GROUPS in `field` is
 * BAD_USER_INPUT naming the field.
 */
export function cleanGroups(groups: readonly string[], field: string): string[] {
  if (groups.length > MAX_GROUPS) {
    throw new AppError('BAD_USER_INPUT', `${field} lists ${groups.length} groups; a learner belongs to at most ${MAX_GROUPS}.`, { field, max: MAX_GROUPS });
  }
  const out: string[] = [];
  for (const raw of groups) {
    const group = raw.trim();
    if (!group || group.length > MAX_GROUP_LENGTH) {
      throw new AppError('BAD_USER_INPUT', `Each of ${field} must be 1 to ${MAX_GROUP_LENGTH} characters.`, { field, max: MAX_GROUP_LENGTH });
    }
    if (!out.includes(group)) out.push(group);
  }
  return out;
}

export interface GroupChange {
  groups?: readonly string[] | null;
  addGroups?: readonly string[] | null;
  removeGroups?: readonly string[] | null;
}

/** Whether the change touches groups at all; `groups` together with add/remove is BAD_USER_INPUT. */
export function changesGroups(change: GroupChange): boolean {
  const edits = change.addGroups != null || change.removeGroups != null;
  if (change.groups != null && edits) {
    throw new AppError('BAD_USER_INPUT', 'Pass groups (to replace them all) or addGroups/removeGroups (to edit them), not both.');
  }
  return change.groups != null || edits;
}

/** The learner's groups after the change: replaced, or added to then removed from; at most MAX_GROUPS. */
export function applyGroupChange(current: readonly string[], change: GroupChange): string[] {
  if (change.groups != null) return cleanGroups(change.groups, 'groups');
  const add = cleanGroups(change.addGroups ?? [], 'addGroups');
  const remove = new Set(cleanGroups(change.removeGroups ?? [], 'removeGroups'));
  const next = [...current];
  for (const g of add) if (!next.includes(g)) next.push(g);
  const result = next.filter((g) => !remove.has(g));
  if (result.length > MAX_GROUPS) {
    throw new AppError('BAD_USER_INPUT', `The learner would belong to ${result.length} groups; at most ${MAX_GROUPS}.`, { field: 'addGroups', max: MAX_GROUPS });
  }
  return result;
}

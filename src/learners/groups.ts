import { badInput } from '../errors.js';

/** A learner belongs to at most this many groups. */
export const MAX_GROUPS = 50;
/** A group's externalId is 1 to this many characters. */
export const MAX_GROUP_LENGTH = 200;

/**
 * Group ids as the LMS sent them, trimmed (like externalId) and deduplicated in the order given;
 * an empty one, one over MAX_GROUP_LENGTH characters, or more than MAX_GROUPS in `argument` (the
 * input's path, `input.groups`) is BAD_USER_INPUT naming it (and the offending entry's position).
 */
export function cleanGroups(groups: readonly string[], argument: string): string[] {
  const name = argument.split('.').pop();
  if (groups.length > MAX_GROUPS) {
    throw badInput(`${name} lists ${groups.length} groups; a learner belongs to at most ${MAX_GROUPS}.`, argument, { max: MAX_GROUPS });
  }
  const out: string[] = [];
  for (const [i, raw] of groups.entries()) {
    const group = cleanGroup(raw, `${argument}.${i}`, `Each of ${name}`);
    if (!out.includes(group)) out.push(group);
  }
  return out;
}

/** One group id, trimmed; empty or over MAX_GROUP_LENGTH characters is BAD_USER_INPUT naming `argument`. */
export function cleanGroup(raw: string, argument: string, label = argument.split('.').pop()): string {
  const group = raw.trim();
  if (!group || group.length > MAX_GROUP_LENGTH) {
    throw badInput(`${label} must be 1 to ${MAX_GROUP_LENGTH} characters.`, argument, { max: MAX_GROUP_LENGTH });
  }
  return group;
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
    const given = [change.addGroups != null ? 'input.addGroups' : null, change.removeGroups != null ? 'input.removeGroups' : null].filter((a) => a !== null);
    throw badInput('Pass groups (to replace them all) or addGroups/removeGroups (to edit them), not both.', ['input.groups', given[0]!, ...given.slice(1)]);
  }
  return change.groups != null || edits;
}

/** The learner's groups after the change: replaced, or added to then removed from; at most MAX_GROUPS. */
export function applyGroupChange(current: readonly string[], change: GroupChange): string[] {
  if (change.groups != null) return cleanGroups(change.groups, 'input.groups');
  const add = cleanGroups(change.addGroups ?? [], 'input.addGroups');
  const remove = new Set(cleanGroups(change.removeGroups ?? [], 'input.removeGroups'));
  const next = [...current];
  for (const g of add) if (!next.includes(g)) next.push(g);
  const result = next.filter((g) => !remove.has(g));
  if (result.length > MAX_GROUPS) {
    // Not how many it would be: a key that may not read the learner would learn its groups from the count.
    throw badInput(`The learner would belong to more than ${MAX_GROUPS} groups, the most one can.`, 'input.addGroups', { max: MAX_GROUPS });
  }
  return result;
}

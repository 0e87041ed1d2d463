import type { UtteranceResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';

/**
 * Part of the utterance row, but it is the learner's data: the groups they were in. A write-only
 * key reads the utterance it just submitted, not its learner's groups (Learner.groups needs
 * SCORES_READ too).
 */
export const learnerGroups: UtteranceResolvers['learnerGroups'] = (u, _args, ctx) => {
  requireScope(ctx.principal, 'SCORES_READ');
  return u.learnerGroups;
};

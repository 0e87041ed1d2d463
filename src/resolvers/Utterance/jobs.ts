import type { UtteranceResolvers } from '../../generated/graphql.js';
import { pageArgs } from '../../graphql/pagination.js';

/** Newest first; the jobs of every utterance resolved together come from one batched read. */
export const jobs: UtteranceResolvers['jobs'] = (utterance, args, ctx, info) =>
  ctx.loaders.jobsPage(utterance.id, pageArgs(args, info));

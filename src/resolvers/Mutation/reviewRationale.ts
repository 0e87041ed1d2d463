import type { MutationResolvers } from '../../generated/graphql.js';
import { requireScope } from '../../graphql/auth.js';
import { expectGlobalId } from '../../graphql/ids.js';
import { actorOf } from '../../admin/audit.js';
import { reviewRationale as review } from '../../admin/reviews.js';

/** ADMIN: a person's verdict on a rationale (src/admin/reviews.ts); returns the assessment it is on. */
export const reviewRationale: MutationResolvers['reviewRationale'] = async (_parent, args, ctx) => {
  requireScope(ctx.principal, 'ADMIN');
  const assessmentId = expectGlobalId(args.assessmentId, 'Assessment');
  const written = await review(ctx.services.prisma, {
    organizationId: ctx.principal.organizationId, assessmentId, assessmentGlobalId: args.assessmentId,
    verdict: args.verdict, note: args.note, actor: actorOf(ctx),
  });
  // A review read earlier in this request (another aliased reviewRationale) is stale now.
  ctx.loaders.reviewByRationale.replace(written.rationaleId, written);
  return (await ctx.loaders.assessment.load(assessmentId))!;
};

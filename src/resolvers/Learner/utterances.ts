import type { LearnerResolvers } from '../../generated/graphql.js';
import { findPage } from '../../graphql/pagination.js';

/** Newest first, keyset-paginated on the (organizationId, learnerId, createdAt, id) index. */
export const utterances: LearnerResolvers['utterances'] = (learner, args, ctx) =>
  findPage(args, ({ where, orderBy, take }) =>
    ctx.services.prisma.utterance.findMany({
      where: { organizationId: ctx.principal.organizationId, learnerId: learner.id, ...where },
      orderBy,
      take,
    }),
  );

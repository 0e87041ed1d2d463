import type { UtteranceResolvers } from '../../generated/graphql.js';
import { findPage } from '../../graphql/pagination.js';

export const assessments: UtteranceResolvers['assessments'] = (utterance, args, ctx) =>
  findPage(args, ({ where, orderBy, take }) =>
    ctx.services.prisma.assessment.findMany({
      where: { organizationId: ctx.principal.organizationId, utteranceId: utterance.id, ...where },
      orderBy,
      take,
    }),
  );

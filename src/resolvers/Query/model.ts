import type { QueryResolvers } from '../../generated/graphql.js';

export const model: QueryResolvers['model'] = (_parent, _args, ctx) => ctx.services.modelInfo?.() ?? ctx.services.model();

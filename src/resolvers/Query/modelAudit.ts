import type { QueryResolvers } from '../../generated/graphql.js';

/** ADMIN; the loader checks it. Aggregated in SQL (src/analytics/audit.ts). */
export const modelAudit: QueryResolvers['modelAudit'] = (_parent, { modelVersion }, ctx) => ctx.loaders.analytics.modelAudit(modelVersion);

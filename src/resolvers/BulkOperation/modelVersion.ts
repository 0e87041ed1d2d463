import type { BulkOperationResolvers } from '../../generated/graphql.js';

export const modelVersion: BulkOperationResolvers['modelVersion'] = (op) => op.requestedModelVersion;

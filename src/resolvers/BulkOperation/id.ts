import type { BulkOperationResolvers } from '../../generated/graphql.js';
import { toGlobalId } from '../../graphql/ids.js';

export const id: BulkOperationResolvers['id'] = (op) => toGlobalId('BulkOperation', op.id);

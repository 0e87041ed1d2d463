import type { QueryResolvers } from '../../generated/graphql.js';
import { findByGlobalId } from '../../graphql/access.js';

/** Read like `job(id)` (SCORES_READ); a malformed, foreign or unknown id reads as null. */
export const bulkOperation: QueryResolvers['bulkOperation'] = (_parent, { id }, ctx) => findByGlobalId(ctx, 'BulkOperation', id);

import type { JobResolvers } from '../../generated/graphql.js';
import { toGlobalId } from '../../graphql/ids.js';

export const id: JobResolvers['id'] = (job) => toGlobalId('Job', job.id);

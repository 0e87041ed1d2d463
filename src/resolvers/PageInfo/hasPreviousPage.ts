import type { PageInfoResolvers } from '../../generated/graphql.js';

/** Known from the page query, or asked of the database now that it is selected (pagination.ts). */
export const hasPreviousPage: PageInfoResolvers['hasPreviousPage'] = (pageInfo) =>
  typeof pageInfo.hasPreviousPage === 'function' ? pageInfo.hasPreviousPage() : pageInfo.hasPreviousPage;

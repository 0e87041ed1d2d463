import type { PageInfoResolvers } from '../../generated/graphql.js';

/** Known from the page query, or asked of the database now that it is selected (pagination.ts). */
export const hasNextPage: PageInfoResolvers['hasNextPage'] = (pageInfo) =>
  typeof pageInfo.hasNextPage === 'function' ? pageInfo.hasNextPage() : pageInfo.hasNextPage;

import { AppError } from '../errors.js';

/** Nothing longer can match: externalIds and display names are at most 200 characters. */
export const MAX_SEARCH_LENGTH = 200;

/**
 * Prisma's `contains` becomes `LIKE '%' || value || '%'` without escaping the value, so `%` and
 * `_` in a search would be wildcards (and `\` an escape). Searches are literal: escape them with
 * PostgreSQL's default LIKE escape character.
 */
export function likeContains(search: string): string {
  if ([...search].length > MAX_SEARCH_LENGTH) {
    throw new AppError('BAD_USER_INPUT', `search must be at most ${MAX_SEARCH_LENGTH} characters.`, { field: 'search', max: MAX_SEARCH_LENGTH });
  }
  return search.replace(/[\\%_]/g, (c) => `\\${c}`);
}

import { badInput } from '../errors.js';

/** Nothing longer can match: externalIds and display names are at most 200 characters. */
export const MAX_SEARCH_LENGTH = 200;

/**
 * Prisma's `contains` becomes `LIKE '%' || value || '%'` without escaping the value, so `%` and
 * `_` in a search would be wildcards (and `\` an escape). Searches are literal: escape them with
 * PostgreSQL's default LIKE escape character.
 */
export function likeContains(search: string, argument: string): string {
  if ([...search].length > MAX_SEARCH_LENGTH) {
    throw badInput(`search must be at most ${MAX_SEARCH_LENGTH} characters.`, argument, { max: MAX_SEARCH_LENGTH });
  }
  return search.replace(/[\\%_]/g, (c) => `\\${c}`);
}

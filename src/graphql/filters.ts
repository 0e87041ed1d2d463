/**
 * Prisma's `contains` becomes `LIKE '%' || value || '%'` without escaping the value, so `%` and
 * `_` in a search would be wildcards (and `\` an escape). Searches are literal: escape them with
 * PostgreSQL's default LIKE escape character.
 */
export function likeContains(search: string): string {
  return search.replace(/[\\%_]/g, (c) => `\\${c}`);
}

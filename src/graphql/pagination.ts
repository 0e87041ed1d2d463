import { AppError } from '../errors.js';

/** Keyset pagination over (createdAt desc, id desc): stable under inserts, index-backed. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export interface Keyset {
  createdAt: Date;
  id: string;
}

export const MAX_PAGE_SIZE = 100;

export function encodeCursor(row: Keyset): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url');
}

const CURSOR_TEXT = /^[A-Za-z0-9_-]{1,200}$/;
/** What encodeCursor writes: an ISO timestamp of years 1000-9999 in UTC, a bar, a UUID. */
const CURSOR_BODY = /^([1-9]\d{3}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** Only a cursor this server could have written is accepted; anything else is BAD_USER_INPUT. */
export function decodeCursor(cursor: string): Keyset {
  const invalid = () => new AppError('BAD_USER_INPUT', 'Invalid cursor: pass an endCursor or edge cursor exactly as this API returned it.');
  if (!CURSOR_TEXT.test(cursor)) throw invalid();
  const match = CURSOR_BODY.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw invalid();
  const createdAt = new Date(match[1]!);
  // a calendar-invalid date (2024-02-31) parses to another day or NaN: require the round trip
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== match[1]) throw invalid();
  return { createdAt, id: match[2]! };
}

export function pageSize(first: number | null | undefined): number {
  const size = first ?? 20;
  if (!Number.isInteger(size) || size < 0 || size > MAX_PAGE_SIZE) {
    throw new AppError('BAD_USER_INPUT', `first must be an integer between 0 and ${MAX_PAGE_SIZE}.`);
  }
  return size;
}

/** Prisma `where` and `orderBy` fragments for the page after `after`, newest first. */
export function keysetQuery(args: PageArgs) {
  const take = pageSize(args.first) + 1; // one extra row tells whether there is a next page
  const orderBy = [{ createdAt: 'desc' as const }, { id: 'desc' as const }];
  if (!args.after) return { where: {}, orderBy, take };
  const c = decodeCursor(args.after);
  const where = { OR: [{ createdAt: { lt: c.createdAt } }, { createdAt: c.createdAt, id: { lt: c.id } }] };
  return { where, orderBy, take };
}

export function toConnection<T extends Keyset>(rows: T[], args: PageArgs) {
  const size = pageSize(args.first);
  const nodes = rows.slice(0, size);
  const edges = nodes.map((node) => ({ cursor: encodeCursor(node), node }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > size, endCursor: edges.at(-1)?.cursor ?? null },
  };
}

/**
 * One connection page: `fetch` gets the keyset `where`/`orderBy`/`take` to merge with its own
 * tenant-scoped filter, so every paginated field shares one implementation.
 */
export async function findPage<T extends Keyset>(
  args: PageArgs,
  fetch: (page: ReturnType<typeof keysetQuery>) => Promise<T[]>,
) {
  return toConnection(await fetch(keysetQuery(args)), args);
}

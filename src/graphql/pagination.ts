import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { badInput } from '../errors.js';

/**
 * Relay cursor connections (https://relay.dev/graphql/connections.htm), one implementation for
 * every paginated field: keyset pagination over (createdAt desc, id desc), stable under inserts and
 * index-backed. `first`/`after` page forward (older rows), `last`/`before` backward (newer rows);
 * a page is always returned newest first.
 */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
  /** Whether the client selected `totalCount` (see `selectsTotalCount`): only then is it counted. */
  withTotalCount?: boolean;
}

export interface Keyset {
  createdAt: Date;
  id: string;
}

export const MAX_PAGE_SIZE = 100;
/** Page size when neither `first` nor `last` is given. */
export const DEFAULT_PAGE_SIZE = 20;

export function encodeCursor(row: Keyset): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString('base64url');
}

const CURSOR_TEXT = /^[A-Za-z0-9_-]{1,200}$/;
/**
 * An instant as toISOString writes it for years 1000-9999 in UTC: what the database holds. Other
 * years (0, negative, six digits) are valid JavaScript dates that PostgreSQL's timestamptz refuses.
 */
const ISO_INSTANT = '[1-9]\\d{3}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z';
/** What encodeCursor writes: an ISO instant (ISO_INSTANT), a bar, a UUID. */
const CURSOR_BODY = new RegExp(`^(${ISO_INSTANT})\\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`);

const STORED_INSTANT = new RegExp(`^${ISO_INSTANT}$`);

/** Whether `text` is an instant toISOString wrote for years 1000-9999 (a calendar-invalid date such as 2024-02-31 does not round-trip). */
function isStoredInstant(text: string): boolean {
  if (!STORED_INSTANT.test(text)) return false;
  const date = new Date(text);
  return !Number.isNaN(date.getTime()) && date.toISOString() === text;
}

/** Only a cursor this server could have written is accepted; anything else is BAD_USER_INPUT naming `argument` (after or before). */
export function decodeCursor(cursor: string, argument: string): Keyset {
  const invalid = () => badInput('Invalid cursor: pass an endCursor, startCursor or edge cursor exactly as this API returned it.', argument);
  if (!CURSOR_TEXT.test(cursor)) throw invalid();
  const match = CURSOR_BODY.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw invalid();
  if (!isStoredInstant(match[1]!)) throw invalid();
  return { createdAt: new Date(match[1]!), id: match[2]! };
}

/**
 * A cursor over rows ordered by a name (the organisation's groups): the name itself, marked, in
 * base64url. Only what encodeNameCursor wrote is accepted; anything else is BAD_USER_INPUT.
 */
const NAME_CURSOR = 'name:';
export function encodeNameCursor(name: string): string {
  return Buffer.from(`${NAME_CURSOR}${name}`, 'utf8').toString('base64url');
}

export function decodeNameCursor(cursor: string, argument: string): string {
  const text = /^[A-Za-z0-9_-]{1,1200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  // A NUL round-trips through base64url but no stored name holds one (PostgreSQL text cannot).
  if (!text.startsWith(NAME_CURSOR) || text.includes('\u0000') || encodeNameCursor(text.slice(NAME_CURSOR.length)) !== cursor) {
    throw badInput('Invalid cursor: pass an endCursor, startCursor or edge cursor exactly as this API returned it.', argument);
  }
  return text.slice(NAME_CURSOR.length);
}

/**
 * A cursor over a ranking (analytics lists ordered by a score or a time, then a learner id): a
 * kind, the sort value, the learner's id, in base64url. Only what encodeRankCursor wrote for the
 * same kind is accepted; anything else is BAD_USER_INPUT.
 */
export interface RankKey {
  /** The sort value: a number (a score's drop), an ISO instant, or null (never practised). */
  value: number | string | null;
  id: string;
}

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeRankCursor(kind: string, key: RankKey): string {
  return Buffer.from(`${kind}:${JSON.stringify([key.value, key.id])}`, 'utf8').toString('base64url');
}

export function decodeRankCursor(kind: string, cursor: string, value: 'number' | 'instant', argument = 'after'): RankKey {
  const invalid = () => badInput('Invalid cursor: pass a cursor exactly as this list returned it, with the same arguments.', argument);
  const text = /^[A-Za-z0-9_-]{1,400}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!text.startsWith(`${kind}:`)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(kind.length + 1));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw invalid();
  const [v, id] = parsed as unknown[];
  if (typeof id !== 'string' || !UUID_TEXT.test(id)) throw invalid();
  const ok = value === 'number' ? typeof v === 'number' && Number.isFinite(v)
    : v === null || (typeof v === 'string' && isStoredInstant(v));
  if (!ok) throw invalid();
  const key = { value: v as RankKey['value'], id };
  if (encodeRankCursor(kind, key) !== cursor) throw invalid();
  return key;
}

export interface PageWindow {
  size: number;
  /** `last` was given: the page is the end of the window (the rows just newer than `before`). */
  backward: boolean;
  after: Keyset | null;
  before: Keyset | null;
}

/** The page size and direction the arguments ask for; refuses first+last, negative sizes and sizes above the cap. */
export function pageSize(args: Pick<PageArgs, 'first' | 'last'>): { size: number; backward: boolean } {
  const { first, last } = args;
  if (first != null && last != null) {
    throw badInput('Pass either first (with after) or last (with before), not both.', ['first', 'last']);
  }
  const backward = last != null;
  const size = (backward ? last : first) ?? DEFAULT_PAGE_SIZE;
  const name = backward ? 'last' : 'first';
  if (!Number.isInteger(size) || size < 0 || size > MAX_PAGE_SIZE) {
    throw badInput(`${name} must be an integer between 0 and ${MAX_PAGE_SIZE} (the page size cap is ${MAX_PAGE_SIZE}).`, name, { max: MAX_PAGE_SIZE });
  }
  return { size, backward };
}

/** The page the arguments ask for: its size and direction (pageSize) and the cursors decoded. */
export function pageWindow(args: PageArgs): PageWindow {
  const { size, backward } = pageSize(args);
  return {
    size,
    backward,
    // != null: an empty cursor is no cursor the API returned (BAD_USER_INPUT), not "from the start".
    after: args.after != null ? decodeCursor(args.after, 'after') : null,
    before: args.before != null ? decodeCursor(args.before, 'before') : null,
  };
}

/** Newest first: createdAt desc, then id desc (PostgreSQL orders uuids as their lower-case hex text). */
export function newestFirst(a: Keyset, b: Keyset): number {
  const t = b.createdAt.getTime() - a.createdAt.getTime();
  return t !== 0 ? t : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** A condition on the keyset, as a Prisma `where` fragment and as the same test in memory. */
interface Range {
  where: object;
  test(row: Keyset): boolean;
  /** The same condition as row comparisons `(createdAt, id) <op> (cursor)`, ANDed, for sources that write SQL. */
  keyset: KeysetBound[];
}

/** `("createdAt", "id") <op> (at.createdAt, at.id)`: lexicographic, so the same test as the Prisma fragment. */
export interface KeysetBound {
  op: '<' | '>' | '<=' | '>=';
  at: Keyset;
}

/** Older than the cursor's row, in the (createdAt desc, id desc) order. */
const olderThan = (c: Keyset): Range => ({
  where: { OR: [{ createdAt: { lt: c.createdAt } }, { createdAt: c.createdAt, id: { lt: c.id } }] },
  test: (r) => newestFirst(c, r) < 0,
  keyset: [{ op: '<', at: c }],
});
/** Newer than the cursor's row. */
const newerThan = (c: Keyset): Range => ({
  where: { OR: [{ createdAt: { gt: c.createdAt } }, { createdAt: c.createdAt, id: { gt: c.id } }] },
  test: (r) => newestFirst(c, r) > 0,
  keyset: [{ op: '>', at: c }],
});
/** The cursor's row or newer. */
const notOlderThan = (c: Keyset): Range => ({
  where: { OR: [{ createdAt: { gt: c.createdAt } }, { createdAt: c.createdAt, id: { gte: c.id } }] },
  test: (r) => newestFirst(c, r) >= 0,
  keyset: [{ op: '>=', at: c }],
});
/** The cursor's row or older. */
const notNewerThan = (c: Keyset): Range => ({
  where: { OR: [{ createdAt: { lt: c.createdAt } }, { createdAt: c.createdAt, id: { lte: c.id } }] },
  test: (r) => newestFirst(c, r) <= 0,
  keyset: [{ op: '<=', at: c }],
});

const NEWEST_FIRST = [{ createdAt: 'desc' as const }, { id: 'desc' as const }];
const OLDEST_FIRST = [{ createdAt: 'asc' as const }, { id: 'asc' as const }];

/**
 * What a source is asked for: a Prisma `where` fragment to AND with its own filter (`test` is the
 * same condition for rows already in memory), an order, a limit.
 */
export interface PageQuery {
  where: object;
  test(row: Keyset): boolean;
  /** The same keyset condition as row comparisons (see KeysetBound). */
  keyset: KeysetBound[];
  orderBy: typeof NEWEST_FIRST | typeof OLDEST_FIRST;
  oldestFirst: boolean;
  take: number;
}

/**
 * One paginated, filtered, tenant-scoped set of rows. `findMany` gets the keyset `where` to AND
 * with its own filter; `count` (totalCount) gets none: the count is of the whole filtered set.
 */
export interface PageSource<T extends Keyset> {
  findMany(query: PageQuery): Promise<T[]>;
  count(): Promise<number>;
}

/**
 * A source over rows already loaded (one batched query for many parents, e.g. every job of a page
 * of utterances): the same paging, applied in memory.
 */
export function rowsSource<T extends Keyset>(load: () => Promise<T[]>): PageSource<T> {
  return {
    findMany: async (q) => {
      const rows = (await load()).filter((r) => q.test(r)).sort(newestFirst);
      if (q.oldestFirst) rows.reverse();
      return rows.slice(0, q.take);
    },
    count: async () => (await load()).length,
  };
}

const all = (...ranges: Range[]): Range => ({
  where: ranges.length === 0 ? {} : ranges.length === 1 ? ranges[0]!.where : { AND: ranges.map((r) => r.where) },
  test: (row) => ranges.every((r) => r.test(row)),
  keyset: ranges.flatMap((r) => r.keyset),
});

/**
 * `hasNextPage`/`hasPreviousPage` either known from the page query (one extra row) or, for the
 * side the spec leaves open (rows beyond the cursor we started from), a thunk that asks the
 * database only when the client selects that field.
 */
export interface PageInfoModel {
  startCursor: string | null;
  endCursor: string | null;
  hasNextPage: boolean | (() => Promise<boolean>);
  hasPreviousPage: boolean | (() => Promise<boolean>);
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfoModel;
  /** Present only when the client selected it (the COUNT runs only then). */
  totalCount?: number;
}

/**
 * One connection page. Forward: the `size` newest rows older than `after` (and newer than
 * `before`, when both are given). Backward: the `size` oldest rows newer than `before` (and older
 * than `after`), fetched oldest first and returned newest first. The COUNT runs alongside the page
 * query, and only when `args.withTotalCount`.
 */
export async function findPage<T extends Keyset>(args: PageArgs, source: PageSource<T>): Promise<Connection<T>> {
  const w = pageWindow(args);
  const bounds = all(...(w.after ? [olderThan(w.after)] : []), ...(w.before ? [newerThan(w.before)] : []));
  const query = (range: Range, oldestFirst: boolean, take: number): PageQuery => ({
    where: range.where,
    test: range.test,
    keyset: range.keyset,
    orderBy: oldestFirst ? OLDEST_FIRST : NEWEST_FIRST,
    oldestFirst,
    take,
  });
  const [fetched, totalCount] = await Promise.all([
    source.findMany(query(bounds, w.backward, w.size + 1)),
    args.withTotalCount ? source.count() : Promise.resolve(undefined),
  ]);
  const more = fetched.length > w.size;
  const rows = fetched.slice(0, w.size);
  if (w.backward) rows.reverse();
  const edges = rows.map((node) => ({ cursor: encodeCursor(node), node }));
  // Rows on the far side of the cursor we started from (the spec's "may" case): asked only when selected.
  const beyond = (cursor: Keyset | null, range: (c: Keyset) => Range): boolean | (() => Promise<boolean>) =>
    cursor ? async () => (await source.findMany(query(range(cursor), false, 1))).length > 0 : false;
  const pageInfo: PageInfoModel = {
    startCursor: edges[0]?.cursor ?? null,
    endCursor: edges.at(-1)?.cursor ?? null,
    hasNextPage: w.backward ? beyond(w.before, notNewerThan) : more,
    hasPreviousPage: w.backward ? more : beyond(w.after, notOlderThan),
  };
  return { edges, pageInfo, ...(totalCount === undefined ? {} : { totalCount }) };
}

/** Whether the connection field being resolved selects `field` (fragments and inline fragments included). */
export function selects(info: GraphQLResolveInfo | undefined, field: string): boolean {
  if (!info) return false;
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode | undefined): boolean =>
    !!set &&
    set.selections.some((sel) => {
      if (sel.kind === Kind.FIELD) return sel.name.value === field;
      if (sel.kind === Kind.INLINE_FRAGMENT) return walk(sel.selectionSet);
      if (seen.has(sel.name.value)) return false;
      seen.add(sel.name.value);
      return walk(info.fragments[sel.name.value]?.selectionSet);
    });
  return info.fieldNodes.some((node) => walk(node.selectionSet));
}

/** The arguments of a connection field, with whether `totalCount` is wanted. */
export function pageArgs<A extends PageArgs>(args: A, info: GraphQLResolveInfo): A & { withTotalCount: boolean } {
  return { ...args, withTotalCount: selects(info, 'totalCount') };
}

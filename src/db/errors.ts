/**
 * The driver adapter's report of a failed statement, where Prisma puts it: on its own queries' errors
 * (P2002, P2003) and on a raw statement's (P2010, which carries nothing else to tell them apart).
 */
function adapterCause(e: unknown): { kind?: unknown; originalCode?: unknown; originalMessage?: unknown } | undefined {
  const meta = (e as { meta?: { driverAdapterError?: { cause?: unknown } } } | null)?.meta;
  const cause = meta?.driverAdapterError?.cause;
  return typeof cause === 'object' && cause !== null ? cause : undefined;
}

function prismaCode(e: unknown): unknown {
  return typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
}

/** A unique-constraint violation: Prisma's P2002, or a raw statement's (SQLSTATE 23505), from either driver adapter. */
export function isUniqueViolation(e: unknown): boolean {
  if (prismaCode(e) === 'P2002') return true;
  const cause = adapterCause(e);
  return prismaCode(e) === 'P2010' && (cause?.kind === 'UniqueConstraintViolation' || cause?.originalCode === '23505');
}

/**
 * A foreign-key violation where the row a write points to was deleted since it was read: Prisma's
 * P2003, or a raw statement's (SQLSTATE 23503). Not a delete refused because rows still point to
 * the deleted row ("update or delete on table … violates foreign key constraint"): nothing vanished.
 */
export function isForeignKeyViolation(e: unknown): boolean {
  const cause = adapterCause(e);
  const code = prismaCode(e);
  const foreignKey = code === 'P2003'
    || (code === 'P2010' && (cause?.kind === 'ForeignKeyConstraintViolation' || cause?.originalCode === '23503'));
  return foreignKey && !(typeof cause?.originalMessage === 'string' && /^update or delete on table/i.test(cause.originalMessage));
}

/**
 * Recognising "the database is not there right now" (server restarted, connection killed,
 * unreachable, pool exhausted) among the errors Prisma and the pg driver throw, so the API can
 * answer SERVICE_UNAVAILABLE (retry later) instead of INTERNAL_SERVER_ERROR, and the worker can
 * retry instead of recording a failed attempt.
 *
 * The shapes seen through @prisma/adapter-pg: a PrismaClientKnownRequestError whose
 * meta.driverAdapterError.cause carries the PostgreSQL SQLSTATE (57P01 "terminating connection
 * due to administrator command") or a connection kind; a plain pg Error "Client has encountered a
 * connection error and is not queryable" inside an interactive transaction; Node socket errors.
 */

/** Prisma's own codes for an unreachable or vanished server, and the connection-pool timeout. */
const PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
/** Driver-adapter error kinds that mean the connection, not the query, failed. */
const ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections', 'TransactionAlreadyClosed']);
/** Node socket errors. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const MESSAGES = [
  /connection error and is not queryable/i,
  /Connection terminated/i,
  /terminating connection due to administrator command/i,
  /the database system is (shutting down|starting up|in recovery mode)/i,
  /server closed the connection unexpectedly/i,
  /Can't reach database server/i,
  /timeout exceeded when trying to connect/i,
];

/** SQLSTATE class 08 (connection exception) and 57P01-57P03 (admin/crash shutdown, cannot connect now). */
function isConnectionSqlState(code: unknown): boolean {
  return typeof code === 'string' && (/^08[0-9A-Z]{3}$/.test(code) || code === '57P01' || code === '57P02' || code === '57P03');
}

/** The fields of an error (or of what it wraps) the checks below read. */
interface ErrorLike {
  code?: unknown;
  originalCode?: unknown;
  kind?: unknown;
  message?: unknown;
  cause?: unknown;
  meta?: unknown;
  originalError?: unknown;
  errors?: unknown;
}

/**
 * Whether `test` holds for the error or anything it wraps: its cause, the original error, the
 * driver adapter's error (where Prisma puts the PostgreSQL SQLSTATE), an AggregateError's errors.
 */
function anyCause(err: unknown, test: (e: ErrorLike) => boolean): boolean {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  while (queue.length) {
    const e = queue.shift();
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const x = e as ErrorLike;
    if (test(x)) return true;
    queue.push(x.cause, x.originalError, (x.meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError);
    if (Array.isArray(x.errors)) queue.push(...x.errors);
  }
  return false;
}

export function isDatabaseUnavailable(err: unknown): boolean {
  return anyCause(err, (x) =>
    (typeof x.code === 'string' && (PRISMA_CODES.has(x.code) || SOCKET_CODES.has(x.code) || isConnectionSqlState(x.code)))
    || (typeof x.kind === 'string' && ADAPTER_KINDS.has(x.kind))
    || (typeof x.message === 'string' && MESSAGES.some((m) => m.test(x.message as string))));
}

/** SQLSTATE 55P03 (lock_not_available: lock_timeout) or 40P01 (deadlock_detected), however the driver wraps it. */
export function isLockConflict(err: unknown): boolean {
  const LOCK_STATES = ['55P03', '40P01'];
  return anyCause(err, (x) =>
    LOCK_STATES.includes(x.code as string) || LOCK_STATES.includes(x.originalCode as string)
    || (typeof x.message === 'string' && /lock timeout|deadlock detected/i.test(x.message)));
}

/**
 * The transaction lost out to other transactions and was rolled back, so nothing of it committed: a
 * lock timeout or deadlock (isLockConflict), a serialization failure (SQLSTATE 40001), or Prisma's
 * P2028 (it could not start in time, or it ran past its timeout, typically waiting on a lock, and
 * was rolled back). Work that is fenced, as a job's completion is, can simply run again.
 */
export function isContention(err: unknown): boolean {
  return isLockConflict(err) || anyCause(err, (x) => x.code === 'P2028' || x.code === '40001' || x.originalCode === '40001');
}

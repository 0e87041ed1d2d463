/**
 * A step a transaction may skip rather than wait for: run under a short `lock_timeout` inside a
 * savepoint, so that a lock another transaction holds (an erasure's learner, an endpoint being
 * deleted, a grade being computed) costs at most `ms` and is never a deadlock, and the enclosing
 * transaction goes on without the step instead of failing with it.
 *
 * `SET LOCAL` made after the savepoint is undone with it when the step gives up; when the step
 * succeeds the timeout is set back to the session's before the savepoint is released, so later
 * statements of the transaction wait as usual.
 */
import type { Prisma } from '../generated/prisma/client.js';
import { isLockConflict } from './errors.js';

/** Returned instead of the step's result when it met a lock held for longer than allowed. */
export const LOCK_BUSY = Symbol('lock busy');

export async function skippableUnderLock<T>(tx: Prisma.TransactionClient, ms: number, step: () => Promise<T>): Promise<T | typeof LOCK_BUSY> {
  await tx.$executeRawUnsafe('SAVEPOINT sm_skippable');
  await tx.$executeRawUnsafe(`SET LOCAL lock_timeout = '${Math.max(1, Math.round(ms))}ms'`);
  try {
    const result = await step();
    await tx.$executeRawUnsafe('SET LOCAL lock_timeout TO DEFAULT');
    await tx.$executeRawUnsafe('RELEASE SAVEPOINT sm_skippable');
    return result;
  } catch (e) {
    if (!isLockConflict(e)) throw e;
    await tx.$executeRawUnsafe('ROLLBACK TO SAVEPOINT sm_skippable');
    await tx.$executeRawUnsafe('RELEASE SAVEPOINT sm_skippable');
    return LOCK_BUSY;
  }
}

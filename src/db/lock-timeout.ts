/**
 * A step a transaction may skip rather than wait for: run under a short `lock_timeout` inside a
 * savepoint, so that a lock another transaction holds (an erasure's learner, an endpoint being
 * deleted, a grade being computed) costs at most `ms` and is never a deadlock, and the enclosing
 * transaction goes on without the step instead of failing with it.
 *
 * The short timeout (set for the transaction after the savepoint) is undone with it when the step
 * gives up; when the step succeeds it is set back to what it was before the savepoint is released,
 * so later statements of the transaction wait as usual.
 */
import type { Prisma } from '../generated/prisma/client.js';
import { isLockConflict } from './errors.js';

/** Returned instead of the step's result when it met a lock held for longer than allowed. */
export const LOCK_BUSY = Symbol('lock busy');

let savepoints = 0;

export async function skippableUnderLock<T>(tx: Prisma.TransactionClient, ms: number, step: () => Promise<T>): Promise<T | typeof LOCK_BUSY> {
  // A name of its own (nested or interleaved steps never release each other's), and the timeout
  // the transaction had, to put back.
  const name = `sm_skippable_${++savepoints}`;
  const [setting] = await tx.$queryRawUnsafe<{ before: string }[]>(`SELECT current_setting('lock_timeout') AS before`);
  await tx.$executeRawUnsafe(`SAVEPOINT ${name}`);
  await tx.$queryRawUnsafe(`SELECT set_config('lock_timeout', $1, true)`, `${Math.max(1, Math.round(ms))}ms`);
  try {
    const result = await step();
    await tx.$queryRawUnsafe(`SELECT set_config('lock_timeout', $1, true)`, setting!.before);
    await tx.$executeRawUnsafe(`RELEASE SAVEPOINT ${name}`);
    return result;
  } catch (e) {
    // Undone in every case (the timeout with it); only a lock conflict is skipped, anything else is the caller's.
    try {
      await tx.$executeRawUnsafe(`ROLLBACK TO SAVEPOINT ${name}`);
      await tx.$executeRawUnsafe(`RELEASE SAVEPOINT ${name}`);
    } catch {
      throw e; // the transaction itself is gone: its first error is the one to report
    }
    if (!isLockConflict(e)) throw e;
    return LOCK_BUSY;
  }
}

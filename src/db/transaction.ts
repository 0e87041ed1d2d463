/**
 * Interactive transactions that queue instead of failing when the connection pool is busy.
 *
 * Prisma gives up on starting a transaction after `maxWait` (P2028 "Unable to start a transaction
 * in the given time"): every pooled connection was busy, or the event loop was too busy to notice
 * the free one. Nothing ran in the database then (Prisma rolls back and releases a connection that
 * arrives late), so starting again is safe. Any other error, including a transaction that expired
 * while running, is the caller's.
 */
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';

export interface TransactionOptions {
  /** Wait for a connection at most this long per start (ms); defaults to the client's setting. */
  maxWait?: number;
  /** Roll back a transaction running longer than this (ms); defaults to the client's setting. */
  timeout?: number;
  /** Further starts after a start timed out. Default 4. */
  retries?: number;
}

/** P2028 raised because the transaction could not start in time (never after it ran). */
export function isTransactionStartTimeout(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const { code, message } = e as { code?: unknown; message?: unknown };
  return code === 'P2028' && typeof message === 'string' && message.includes('Unable to start a transaction');
}

export async function runTransaction<T>(
  prisma: PrismaClient,
  fn: (tx: Prisma.TransactionClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const { retries = 4, ...txOptions } = options;
  for (let attempt = 0; ; attempt++) {
    try {
      return await prisma.$transaction(fn, txOptions);
    } catch (e) {
      if (attempt >= retries || !isTransactionStartTimeout(e)) throw e;
      // Jittered backoff so the retries of one burst do not arrive together.
      const base = 100 * 2 ** attempt;
      await new Promise((r) => setTimeout(r, base / 2 + Math.random() * base));
    }
  }
}

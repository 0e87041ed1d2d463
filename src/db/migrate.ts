/**
 * Applies prisma/migrations at start-up, without the Prisma CLI (whose migration engine is a native
 * binary that cannot be had offline; see ../shared/STACK.md).
 *
 * Compatible with Prisma Migrate: the same `_prisma_migrations` table and columns, checksum =
 * sha256 (hex) of migration.sql, folders applied in sorted order, rows with `rolled_back_at` set are
 * ignored. So `prisma migrate status|deploy|resolve` agree with what this module did, and the other
 * way round.
 *
 * Differences from `prisma migrate deploy`, on purpose:
 * - each migration runs in one explicit transaction together with its bookkeeping row, so a failing
 *   migration leaves no half-applied schema behind (do not put `CREATE INDEX CONCURRENTLY` or
 *   `BEGIN`/`COMMIT` in a migration.sql);
 * - the script is sent as one query (simple protocol / PGlite.exec), so `$$` bodies survive.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { PGlite, Transaction as PGliteTransaction } from '@electric-sql/pglite';
import pg from 'pg';

/** One database connection (session) that the migrator runs on. */
export interface MigrationConnection {
  /** One statement, with $1-style parameters; returns the rows. */
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** A whole script (several statements, `$$` bodies), sent as one unit. */
  exec(script: string): Promise<void>;
}

/** Where the migrator gets its connection from: a PGlite instance or a pg Pool, wrapped. */
export interface MigrationExecutor {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` on one dedicated connection. */
  withConnection<T>(fn: (conn: MigrationConnection) => Promise<T>): Promise<T>;
}

export interface AppliedMigrationsResult {
  /** Migrations applied by this call, in order. */
  applied: string[];
  /** Migrations that were already applied before this call. */
  alreadyApplied: string[];
  /** Applied migrations recorded in the database that the folder does not have (newer code ran?). */
  unknownInDatabase: string[];
  durationMs: number;
}

/** Prisma Migrate's own lock key (`pg_advisory_lock(72707369)`), so the CLI and we exclude each other. */
export const MIGRATION_ADVISORY_LOCK_KEY = 72707369;

/** Prisma's own DDL for its bookkeeping table. */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export class MigrationError extends Error {
  constructor(
    message: string,
    readonly migrationName: string,
    readonly reason: 'edited' | 'failed' | 'apply-failed',
  ) {
    super(message);
    this.name = 'MigrationError';
  }
}

export function migrationChecksum(script: string | Buffer): string {
  return createHash('sha256').update(script).digest('hex');
}

export interface MigrationFile {
  name: string;
  script: string;
  checksum: string;
}

/** The migration folders that hold a migration.sql, sorted by name (Prisma's order). */
export async function readMigrations(migrationsDir: string): Promise<MigrationFile[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const out: MigrationFile[] = [];
  for (const name of names) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path.join(migrationsDir, name, 'migration.sql'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    out.push({ name, script: bytes.toString('utf8'), checksum: migrationChecksum(bytes) });
  }
  return out;
}

export function pgliteExecutor(db: PGlite): MigrationExecutor {
  const wrap = (q: PGlite | PGliteTransaction): MigrationConnection => ({
    async query<Row>(sql: string, params: unknown[] = []) {
      return (await q.query<Row>(sql, params)).rows;
    },
    async exec(script: string) {
      await q.exec(script);
    },
  });
  return {
    kind: 'pglite',
    // PGlite is one connection in this process: there is nobody to lock out.
    withConnection: (fn) => fn(wrap(db)),
  };
}

export function pgPoolExecutor(pool: pg.Pool): MigrationExecutor {
  return {
    kind: 'postgres',
    async withConnection(fn) {
      const client = await pool.connect();
      let broken: unknown;
      try {
        return await fn({
          async query<Row>(sql: string, params: unknown[] = []) {
            return (await client.query(sql, params)).rows as Row[];
          },
          async exec(script: string) {
            // No parameters: simple query protocol, the whole script in one message.
            await client.query(script);
          },
        });
      } catch (err) {
        broken = err;
        throw err;
      } finally {
        // A connection that errored may hold a half-done session (lock, aborted transaction): drop it.
        client.release(broken instanceof Error ? broken : undefined);
      }
    },
  };
}

function toExecutor(executor: MigrationExecutor | PGlite | pg.Pool): MigrationExecutor {
  if (executor instanceof pg.Pool) return pgPoolExecutor(executor);
  if ('withConnection' in executor) return executor;
  return pgliteExecutor(executor);
}

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
}

/**
 * Applies the pending migrations of `migrationsDir`, in folder order, each in its own transaction,
 * and records them in `_prisma_migrations`. Stops with a MigrationError, before applying anything,
 * when an applied migration was edited or a recorded migration failed.
 */
export async function applyMigrations(
  executor: MigrationExecutor | PGlite | pg.Pool,
  migrationsDir: string,
): Promise<AppliedMigrationsResult> {
  const started = performance.now();
  const exec = toExecutor(executor);
  const files = await readMigrations(migrationsDir);

  return exec.withConnection(async (conn) => {
    if (exec.kind === 'postgres') {
      // Session-level lock on this connection: a second API process waits here, then finds
      // everything applied. Released explicitly below (and by the server if the process dies).
      await conn.query('SELECT pg_advisory_lock($1)', [MIGRATION_ADVISORY_LOCK_KEY]);
    }
    try {
      await conn.exec(CREATE_MIGRATIONS_TABLE);
      const rows = await conn.query<MigrationRow>(
        `SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at
           FROM "_prisma_migrations" ORDER BY started_at, migration_name`,
      );
      const live = rows.filter((r) => r.rolled_back_at === null);

      const failed = live.find((r) => r.finished_at === null);
      if (failed) {
        throw new MigrationError(
          `Migration "${failed.migration_name}" failed earlier and is recorded as failed in _prisma_migrations` +
            (failed.logs ? `: ${failed.logs.trim().split('\n')[0]}` : '') +
            `. Fix the cause, then mark it rolled back (\`npx prisma migrate resolve --rolled-back ${failed.migration_name}\`, ` +
            `or UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE id = '${failed.id}') and restart.`,
          failed.migration_name,
          'failed',
        );
      }

      const appliedByName = new Map(live.map((r) => [r.migration_name, r]));
      for (const file of files) {
        const row = appliedByName.get(file.name);
        if (row && row.checksum !== file.checksum) {
          throw new MigrationError(
            `Migration "${file.name}" was modified after it was applied: its migration.sql has checksum ` +
              `${file.checksum} but the database recorded ${row.checksum}. Applied migrations must not be edited; ` +
              `restore the file and put the change in a new migration.`,
            file.name,
            'edited',
          );
        }
      }

      const known = new Set(files.map((f) => f.name));
      const result: AppliedMigrationsResult = {
        applied: [],
        alreadyApplied: files.filter((f) => appliedByName.has(f.name)).map((f) => f.name),
        unknownInDatabase: live.map((r) => r.migration_name).filter((n) => !known.has(n)),
        durationMs: 0,
      };

      for (const file of files) {
        if (appliedByName.has(file.name)) continue;
        const id = randomUUID();
        await conn.exec('BEGIN');
        try {
          await conn.query(
            `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
             VALUES ($1, $2, $3, now(), 0)`,
            [id, file.checksum, file.name],
          );
          await conn.exec(file.script);
          await conn.query(
            `UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1`,
            [id],
          );
          await conn.exec('COMMIT');
        } catch (err) {
          await conn.exec('ROLLBACK').catch(() => undefined);
          const message = err instanceof Error ? err.message : String(err);
          // Record the failure the way Prisma does (finished_at null, logs), so the next start stops
          // with a clear message instead of retrying a broken script. The transaction rolled back,
          // so marking it rolled back is all a fix needs.
          await conn
            .query(
              `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs, started_at, applied_steps_count)
               VALUES ($1, $2, $3, $4, now(), 0)`,
              [id, file.checksum, file.name, message],
            )
            .catch(() => undefined);
          throw new MigrationError(
            `Migration "${file.name}" failed to apply and was rolled back: ${message}`,
            file.name,
            'apply-failed',
          );
        }
        result.applied.push(file.name);
      }
      result.durationMs = performance.now() - started;
      return result;
    } finally {
      if (exec.kind === 'postgres') {
        await conn.query('SELECT pg_advisory_unlock($1)', [MIGRATION_ADVISORY_LOCK_KEY]).catch(() => undefined);
      }
    }
  });
}
